"""A long-running job meant to be run asynchronously (X-Async: true) and polled."""
import time


def handler(event, context):
    seconds = float(event.get("seconds", 3))
    steps = []
    started = time.time()
    while time.time() - started < seconds:
        time.sleep(min(0.5, seconds))
        steps.append(round(time.time() - started, 2))
        print(f"progress {steps[-1]}s of {seconds}s", flush=True)
    return {"slept_seconds": seconds, "steps": len(steps)}

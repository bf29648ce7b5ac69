"""Summarizes text with the private AI endpoint (any Ollama-compatible server).

Deploy with network policy "ai": the function may reach AI_ENDPOINT (set by
the host's `ai: { endpoint }`) and nothing else. Standard library only.

Event: {"text": "...", "model": "llama3.2", "max_words": 40}
Result: {"summary": "...", "model": "...", "words_in": 123}
"""
import json
import os
import urllib.error
import urllib.request

DEFAULT_MODEL = os.environ.get("AI_MODEL", "llama3.2")


def generate(endpoint, model, prompt, timeout):
    """POST {endpoint}/api/generate without streaming; returns Ollama's answer object."""
    body = json.dumps({"model": model, "prompt": prompt, "stream": False}).encode("utf-8")
    request = urllib.request.Request(
        endpoint.rstrip("/") + "/api/generate",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"the AI endpoint answered {e.code}: {e.read()[:500].decode('utf-8', 'replace')}") from None
    except urllib.error.URLError as e:
        raise RuntimeError(f"cannot reach the AI endpoint {endpoint} ({e.reason}); is the function deployed with network 'ai'?") from None


def handler(event, context):
    text = str((event or {}).get("text", "")).strip()
    if not text:
        raise ValueError('send {"text": "..."} to summarize')
    endpoint = os.environ.get("AI_ENDPOINT")
    if not endpoint:
        raise RuntimeError("AI_ENDPOINT is not set: give the host ai: { endpoint } in nanogrid.config.ts")
    model = event.get("model") or DEFAULT_MODEL
    max_words = int(event.get("max_words", 40))
    prompt = f"Summarize the following text in at most {max_words} words. Answer with the summary only.\n\n{text}"
    # Leave a second of the function's timeout to report a slow model as an error.
    remaining = context.get_remaining_time_in_millis() if hasattr(context, "get_remaining_time_in_millis") else None
    timeout = max(1.0, remaining / 1000 - 1) if remaining else 60
    answer = generate(endpoint, model, prompt, timeout)
    return {
        "summary": str(answer.get("response", "")).strip(),
        "model": answer.get("model", model),
        "words_in": len(text.split()),
    }

"""Fails on purpose: the error type, message and trace come back to the caller."""


def handler(event, context):
    divisor = event.get("divisor", 0)
    if divisor == 0:
        raise ValueError("divisor must not be zero (send {\"divisor\": 2})")
    return {"result": 10 / divisor}

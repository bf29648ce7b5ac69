def parse(body):
    import json

    return json.loads(body)

import json
import os

payload = json.loads(os.environ.get("PAYLOAD", "{}"))
name = payload.get("name", "World")

print(json.dumps({"message": f"Hello, {name}!"}))

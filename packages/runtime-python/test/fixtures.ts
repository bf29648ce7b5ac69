import type { RuntimeFixtures } from '@nanogrid/core/testing';

/** Python sources for the runtime conformance suite (each field's contract is documented on RuntimeFixtures). */
export const pythonFixtures: RuntimeFixtures = {
  echo: {
    entryFile: 'main.py',
    files: {
      'main.py': `
def handler(event, context):
    return {
        "event": event,
        "job_id": context.job_id,
        "function_id": context["function_id"],
        "function_name": context.function_name,
        "output_dir": context.output_dir,
        "ai_endpoint": context.ai_endpoint,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }
`,
    },
  },
  asyncHandler: {
    entryFile: 'main.py',
    files: {
      'main.py': `
import asyncio

async def handler(event, context):
    await asyncio.sleep(0.01)
    return {"async": True, "value": event["value"]}
`,
    },
  },
  throws: {
    entryFile: 'main.py',
    errorType: 'ValueError',
    files: {
      'main.py': `
def check(message):
    raise ValueError(message)

def handler(event, context):
    check(event["message"])
`,
    },
  },
  // The original hello of MISSION.md: a plain script, PAYLOAD in, print out.
  scriptText: {
    entryFile: 'hello.py',
    files: {
      'hello.py': `
import json
import os

payload = json.loads(os.environ["PAYLOAD"])
print(f"Hello, {payload['name']}!")
`,
    },
  },
  scriptJson: {
    entryFile: 'sum.py',
    files: {
      'sum.py': `
import json
import os
import sys

payload = json.loads(os.environ.get("PAYLOAD", "{}"))
print("computing", file=sys.stderr)
if __name__ == "__main__":
    print(json.dumps({"sum": payload["a"] + payload["b"]}))
`,
    },
  },
  scriptExit: {
    entryFile: 'main.py',
    files: { 'main.py': 'import sys\nprint("partial output")\nsys.exit(3)\n' },
  },
  logs: {
    entryFile: 'main.py',
    files: {
      'main.py': `
def handler(event, context):
    for i in range(event["lines"]):
        print(f"log line {i}")
    return {"done": True}
`,
    },
  },
  output: {
    entryFile: 'main.py',
    files: {
      'main.py': `
import os

def handler(event, context):
    with open(os.path.join(os.environ["OUTPUT_DIR"], "out.txt"), "w", encoding="utf-8") as f:
        f.write(event["text"])
    return {"written": True}
`,
    },
  },
  multiFile: {
    entryFile: 'app/main.py',
    handler: 'app.main.handler',
    files: {
      'app/__init__.py': '',
      'app/main.py': `
from . import helper
from lib.numbers import six

def handler(event, context):
    return {"answer": helper.answer(six())}
`,
      'app/helper.py': 'def answer(six):\n    return six * 7\n',
      'lib/numbers.py': 'def six():\n    return 6\n',
    },
  },
  unserializable: {
    entryFile: 'main.py',
    files: { 'main.py': 'def handler(event, context):\n    return {"ids": {1, 2}}\n' },
  },
};

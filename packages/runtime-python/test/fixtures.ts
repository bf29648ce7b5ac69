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
  // The hello.py of the original system (the first NanoGrid, on AWS): a plain script, PAYLOAD in, print out.
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
  liveLogs: {
    entryFile: 'main.py',
    files: {
      'main.py': `
import sys
import time


def handler(event, context):
    print(event["text"])
    print("err " + event["text"], file=sys.stderr)
    time.sleep(event["waitMs"] / 1000)
    print("done")
    return {"printed": event["text"]}
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
  scriptStdin: {
    entryFile: 'size.py',
    files: {
      'size.py': `
import json
import sys

event = json.load(sys.stdin)
print(json.dumps({"size": len(event["data"])}))
`,
    },
  },
  eventSize: {
    entryFile: 'main.py',
    files: { 'main.py': 'def handler(event, context):\n    return {"size": len(event["data"])}\n' },
  },
  lambdaContext: {
    entryFile: 'lambda_function.py',
    handler: 'lambda_function.lambda_handler',
    files: {
      'lambda_function.py': `
import os

def lambda_handler(event, context):
    return {
        "aws_request_id": context.aws_request_id,
        "invoked_function_arn": context.invoked_function_arn,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "identity": context.identity.cognito_identity_id,
        "client_context": context.client_context,
        "env": {name: os.environ.get(name) for name in event["names"]},
    }
`,
    },
  },
  lambdaLog: {
    entryFile: 'main.py',
    files: {
      'main.py': `
import logging

logger = logging.getLogger()
logger.setLevel(logging.INFO)

def handler(event, context):
    logger.info(event["message"])
    return {"logged": True}
`,
    },
    logLine: (requestId, message) =>
      new RegExp(`^\\[INFO\\]\\t\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\t${requestId}\\t${message}$`, 'm'),
  },
  moduleLoad: {
    entryFile: 'main.py',
    files: { 'main.py': 'print("module loaded")\n\ndef handler(event, context):\n    return {"ok": True}\n' },
  },
  dashedPath: {
    entryFile: 'src/simple-hello.py',
    handler: 'src/simple-hello.handler',
    files: { 'src/simple-hello.py': 'def handler(event, context):\n    return {"hello": event["name"]}\n' },
  },
  missingHandler: {
    entryFile: 'lambda_function.py',
    handler: 'lambda_function.handler',
    files: { 'lambda_function.py': 'def lambda_handler(event, context):\n    return {"never": True}\n' },
  },
  importError: {
    entryFile: 'main.py',
    errorType: 'KeyError',
    files: {
      'main.py':
        'import os\n\nTABLE = os.environ["TABLE_NAME_NOT_SET"]\n\ndef handler(event, context):\n    return TABLE\n',
    },
  },
  shell: {
    entryFile: 'main.py',
    files: {
      'main.py':
        'import subprocess\n\ndef handler(event, context):\n' +
        '    p = subprocess.run(["/bin/sh", "-c", event["sh"]], stdout=subprocess.PIPE, text=True)\n' +
        '    return {"out": p.stdout, "code": p.returncode}\n',
    },
  },
  syntaxError: {
    entryFile: 'main.py',
    files: { 'main.py': 'import json\n\ndef handler(event, context)\n    return json.dumps(event)\n' },
  },
};

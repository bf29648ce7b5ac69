import type { RuntimeFixtures } from '@nanogrid/core/testing';

/** Node sources for the runtime conformance suite (each field's contract is documented on RuntimeFixtures). */
export const nodeFixtures: RuntimeFixtures = {
  echo: {
    entryFile: 'main.mjs',
    files: {
      'main.mjs': `
export function handler(event, context) {
  return {
    event,
    job_id: context.jobId,
    function_id: context.function_id,
    function_name: context.functionName,
    output_dir: context.outputDir,
    ai_endpoint: context.ai_endpoint,
    remaining_ms: context.getRemainingTimeInMillis(),
  };
}
`,
    },
  },
  asyncHandler: {
    entryFile: 'main.js',
    files: {
      // CommonJS, in a .js file with no package.json: the default for Node.
      'main.js': `
const { setTimeout: sleep } = require('node:timers/promises');
exports.handler = async (event) => {
  await sleep(10);
  return { async: true, value: event.value };
};
`,
    },
  },
  throws: {
    entryFile: 'main.mjs',
    errorType: 'RangeError',
    files: {
      'main.mjs': `
function check(message) {
  throw new RangeError(message);
}
export async function handler(event) {
  check(event.message);
}
`,
    },
  },
  scriptText: {
    entryFile: 'hello.js',
    files: {
      'hello.js': `
const payload = JSON.parse(process.env.PAYLOAD);
console.log(\`Hello, \${payload.name}!\`);
`,
    },
  },
  scriptJson: {
    entryFile: 'sum.mjs',
    files: {
      // Printed after an await: the result is what the script wrote by the time it ended.
      'sum.mjs': `
const { a, b } = JSON.parse(process.env.PAYLOAD ?? '{}');
console.error('computing');
await new Promise((resolve) => setTimeout(resolve, 10));
process.stdout.write(JSON.stringify({ sum: a + b }) + '\\n');
`,
    },
  },
  scriptExit: {
    entryFile: 'main.js',
    files: { 'main.js': 'console.log("partial output");\nprocess.exit(3);\n' },
  },
  logs: {
    // ES module syntax in a .js file with no package.json: detected by Node ≥ 20.19, retried by the bootstrap before.
    entryFile: 'main.js',
    files: {
      'main.js': `
export function handler(event) {
  for (let i = 0; i < event.lines; i++) console.log(\`log line \${i}\`);
  return { done: true };
}
`,
    },
  },
  liveLogs: {
    entryFile: 'main.mjs',
    files: {
      'main.mjs': `
export async function handler(event) {
  console.log(event.text);
  console.error(\`err \${event.text}\`);
  await new Promise((resolve) => setTimeout(resolve, event.waitMs));
  console.log('done');
  return { printed: event.text };
}
`,
    },
  },
  output: {
    entryFile: 'main.mjs',
    files: {
      'main.mjs': `
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
export function handler(event, context) {
  writeFileSync(join(context.output_dir, 'out.txt'), event.text);
  return { written: true };
}
`,
    },
  },
  multiFile: {
    entryFile: 'src/main.mjs',
    handler: 'src/main.handler',
    files: {
      'src/main.mjs': `
import { answer } from './helper.mjs';
import numbers from '../lib/numbers.cjs';
export const handler = () => ({ answer: answer(numbers.six()) });
`,
      'src/helper.mjs': 'export const answer = (six) => six * 7;\n',
      'lib/numbers.cjs': 'module.exports = { six: () => 6 };\n',
    },
  },
  unserializable: {
    entryFile: 'main.mjs',
    files: { 'main.mjs': 'export const handler = () => ({ big: 10n });\n' },
  },
  scriptStdin: {
    entryFile: 'size.js',
    files: {
      'size.js': `
const { readFileSync } = require('node:fs');
const event = JSON.parse(readFileSync(0, 'utf8'));
console.log(JSON.stringify({ size: event.data.length }));
`,
    },
  },
  eventSize: {
    entryFile: 'main.mjs',
    files: { 'main.mjs': 'export const handler = async (event) => ({ size: event.data.length });\n' },
  },
  lambdaContext: {
    entryFile: 'index.js',
    handler: 'index.handler',
    files: {
      'index.js': `
exports.handler = async (event, context) => ({
  aws_request_id: context.awsRequestId,
  invoked_function_arn: context.invokedFunctionArn,
  function_name: context.functionName,
  function_version: context.functionVersion,
  memory_limit_in_mb: context.memoryLimitInMB,
  log_group_name: context.logGroupName,
  log_stream_name: context.logStreamName,
  remaining_ms: context.getRemainingTimeInMillis(),
  waits: context.callbackWaitsForEmptyEventLoop,
  env: Object.fromEntries(event.names.map((name) => [name, process.env[name] ?? null])),
});
`,
    },
  },
  lambdaLog: {
    entryFile: 'index.mjs',
    handler: 'index.handler',
    files: {
      'index.mjs':
        'export const handler = async (event) => {\n  console.log(event.message);\n  return { logged: true };\n};\n',
    },
    logLine: (requestId, message) =>
      new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\t${requestId}\\tINFO\\t${message}$`, 'm'),
  },
  moduleLoad: {
    entryFile: 'main.js',
    files: { 'main.js': "console.log('module loaded');\nexports.handler = async () => ({ ok: true });\n" },
  },
  dashedPath: {
    entryFile: 'src/simple-hello.js',
    handler: 'src/simple-hello.handler',
    files: { 'src/simple-hello.js': 'module.exports.handler = async (event) => ({ hello: event.name });\n' },
  },
  missingHandler: {
    entryFile: 'index.js',
    handler: 'index.handler',
    files: { 'index.js': 'exports.lambdaHandler = async () => ({ never: true });\n' },
  },
  importError: {
    entryFile: 'index.mjs',
    handler: 'index.handler',
    errorType: 'TypeError',
    files: {
      'index.mjs':
        'const table = process.env.TABLE_NAME_NOT_SET.toUpperCase();\nexport const handler = async () => table;\n',
    },
  },
  callback: {
    entryFile: 'handler.js',
    handler: 'handler.endpoint',
    files: {
      'handler.js': `'use strict';
module.exports.endpoint = (event, context, callback) => {
  setTimeout(() => callback(null, { called: true, value: event.value }), 10);
};
`,
    },
  },
  contextSucceed: {
    entryFile: 'index.js',
    handler: 'index.handler',
    files: {
      'index.js':
        'exports.handler = function (event, context) {\n  setTimeout(() => context.succeed({ succeeded: true }), 10);\n};\n',
    },
  },
  shell: {
    entryFile: 'main.mjs',
    files: {
      'main.mjs': `
import { spawnSync } from 'node:child_process';
export function handler(event) {
  const p = spawnSync('/bin/sh', ['-c', event.sh], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return { out: p.stdout, code: p.status };
}
`,
    },
  },
  syntaxError: {
    entryFile: 'index.mjs',
    handler: 'index.handler',
    files: { 'index.mjs': 'export const handler = async (event) => {\n  return { event ;\n};\n' },
  },
};

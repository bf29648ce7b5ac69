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
};

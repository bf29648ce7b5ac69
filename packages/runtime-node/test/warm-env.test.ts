import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NODE_WARM_FILE, nodeRuntime } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'nanogrid-warm-env-'));
// Every bootstrap file: the warm module imports the Lambda layer beside it.
for (const [file, source] of Object.entries(nodeRuntime().bootstrap)) writeFileSync(join(dir, file), source);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `body` (an ES module) with `env` a CallEnv; returns its stdout lines. */
function node(body: string): string[] {
  const script = [
    "import { execSync } from 'node:child_process';",
    "import { readFileSync } from 'node:fs';",
    `const { CallEnv } = await import(${JSON.stringify(join(dir, NODE_WARM_FILE))});`,
    'const env = new CallEnv();',
    "const child = () => execSync('echo \"$JOB_ID|$N|$PAYLOAD|$TZ_SET\"', { encoding: 'utf8' }).trim();",
    body,
  ].join('\n');
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim().split('\n');
}

describe("the Node warm server's per-call environment (CallEnv)", () => {
  it('a child process and process.env see each call its own values, whatever the handler did to them', () => {
    const lines = node(
      [
        "env.update({ JOB_ID: 'a', N: '5' }, '{}'); console.log(child(), process.env.JOB_ID);",
        // the handler sets, deletes and sets numbers, as it may with the real process.env
        'process.env.N = 7; delete process.env.JOB_ID; process.env.TZ_SET = 1; console.log(typeof process.env.N);',
        "env.update({ JOB_ID: 'b', N: '5' }, undefined); console.log(child(), 'PAYLOAD' in process.env);",
        // a name other than the call's reaches the real environment too (native getenv, TZ)
        'console.log(process.env.TZ_SET, Object.keys(process.env).includes("TZ_SET"));',
      ].join('\n'),
    );
    expect(lines).toEqual(['a|5|{}| a', 'string', 'b|5||1 false', '1 true']);
  });

  it('a handler that replaces process.env (a copy, a plain object) does not leave the next call its values', () => {
    const lines = node(
      [
        "env.update({ JOB_ID: 'a', N: '5' }, '{\"who\":\"a\"}');",
        // what some code does: swap the object for a copy or a fresh one (with a name of its own)
        "process.env = { ...process.env, MINE: 'm' };",
        "env.update({ JOB_ID: 'b', N: '6' }, '{\"who\":\"b\"}'); console.log(child(), process.env.JOB_ID, process.env.MINE);",
        'process.env = { PATH: process.env.PATH };',
        "env.update({ JOB_ID: 'c', N: '7' }, undefined); console.log(child(), process.env.JOB_ID, 'PAYLOAD' in process.env);",
      ].join('\n'),
    );
    expect(lines).toEqual(['b|6|{"who":"b"}| b m', 'c|7|| c false']);
  });

  it("keeps no string per call: 20,000 distinct 1 KiB values leave the memory at the heap's size", () => {
    const [before, after] = node(
      [
        "const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);",
        "const pad = 'x'.repeat(1024);",
        'for (let i = 0; i < 20000; i++) env.update({ JOB_ID: `${i}${pad}` }, `${i}${pad}`);',
        'console.log(rss());',
        // Other values than the first round's: glibc reuses a string it already keeps.
        'for (let i = 20000; i < 40000; i++) env.update({ JOB_ID: `${i}${pad}` }, `${i}${pad}`);',
        'console.log(rss());',
      ].join('\n'),
    ).map(Number);
    // setenv(3) would keep 20,000 x 2 x ~1 KiB (40 MiB).
    expect(after! - before!).toBeLessThan(8192);
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pythonRuntime } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'nanogrid-warm-env-'));
// Every bootstrap file, as a server has them beside it.
for (const [file, source] of Object.entries(pythonRuntime().bootstrap)) writeFileSync(join(dir, file), source);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `body` with `warm` imported and `env` a CallEnv; returns its stdout lines. */
function python(body: string): string[] {
  const script = [
    'import os, subprocess, sys',
    `sys.path.insert(0, ${JSON.stringify(dir)})`,
    'import __nanogrid_warm as warm',
    'env = warm.CallEnv()',
    'def child(): return subprocess.run(["sh", "-c", "echo \\"$JOB_ID|$N\\""], capture_output=True, text=True).stdout.strip()',
    body,
  ].join('\n');
  return execFileSync('python3', ['-c', script], { encoding: 'utf8' }).trim().split('\n');
}

describe("the Python warm server's per-call environment (CallEnv)", () => {
  it('a child process and os.environ see each call its own values, whatever the handler did to them', () => {
    const lines = python(
      [
        'env.update({"JOB_ID": "a", "N": "5"}); print(child(), os.environ["JOB_ID"])',
        // the handler sets and deletes names, through os.environ and below it
        'os.environ["N"] = "7"; del os.environ["JOB_ID"]',
        'env.update({"JOB_ID": "b", "N": "5"}); print(child(), os.environ["N"])',
        'os.unsetenv("JOB_ID"); os.environ.pop("N")',
        'env.update({"JOB_ID": "c", "N": "5"}); print(child(), os.environ["N"])',
        // a value longer than its buffer, then a short one again
        'env.update({"JOB_ID": "x" * 5000, "N": "6"}); print(len(child()), os.environ["N"])',
        'env.update({"JOB_ID": "d", "N": "6"}); print(child())',
      ].join('\n'),
    );
    expect(lines).toEqual(['a|5 a', 'b|5 5', 'c|5 5', '5002 6', 'd|6']);
  });

  it('a handler that puts a plain dict in os.environ does not break the next call, which sees its own values', () => {
    const lines = python(
      [
        'env.update({"JOB_ID": "a", "N": "5"})',
        'os.environ = dict(os.environ, MINE="m")',
        'env.update({"JOB_ID": "b", "N": "6"}); print(child(), os.environ["JOB_ID"], os.environ["MINE"])',
        // an event too large for PAYLOAD unsets it everywhere: no child sees the call before's event
        'env.set("PAYLOAD", "small")',
        'env.set("PAYLOAD", None)',
        'print(subprocess.run(["sh", "-c", "echo \\"[${PAYLOAD-unset}]\\""], capture_output=True, text=True).stdout.strip(), "PAYLOAD" in os.environ)',
        'env.set("PAYLOAD", "again"); print(subprocess.run(["sh", "-c", "echo $PAYLOAD"], capture_output=True, text=True).stdout.strip())',
      ].join('\n'),
    );
    expect(lines).toEqual(['b|6 b m', '[unset] False', 'again']);
  });

  it('keeps no string per call: 20,000 distinct 1 KiB values leave the memory where it was', () => {
    const [before, after] = python(
      [
        'rss = lambda: int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0])',
        'pad = "x" * 1024',
        'for i in range(2000): env.update({"JOB_ID": f"{i}{pad}"})',
        'print(rss())',
        // Other values than the first round's: glibc reuses a string it already keeps.
        'for i in range(2000, 22000): env.update({"JOB_ID": f"{i}{pad}"})',
        'print(rss())',
      ].join('\n'),
    ).map(Number);
    // setenv(3) would keep 20,000 x ~1 KiB (20 MiB).
    expect(after! - before!).toBeLessThan(2048);
  });
});

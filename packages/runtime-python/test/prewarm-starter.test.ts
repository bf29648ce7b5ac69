import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RESULT_MARKER } from '@nanogrid/core';
import { afterAll, describe, expect, it } from 'vitest';
import { PYTHON_SERVE_FILE, pythonRuntime } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'nanogrid-prewarm-starter-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A code directory with the runtime's files (as a spare has them before its function is known) and `files`. */
function codeDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(root, 'code-'));
  for (const [file, source] of Object.entries({ ...pythonRuntime().bootstrap, ...files }))
    writeFileSync(join(dir, file), source);
  return dir;
}

/** What the server's process holds while the function runs: its threads, and the kinds of its open files. */
const PROBE = `import json, os, re

def state():
    fds = []
    for fd in sorted(os.listdir("/proc/self/fd"), key=int):
        try:
            target = os.readlink("/proc/self/fd/" + fd).replace(os.environ["TMPDIR"], "TMPDIR")
            fds.append(re.sub(r"[0-9]+", "N", target))
        except OSError:
            pass  # the listing's own descriptor
    return {"threads": len(os.listdir("/proc/self/task")), "fds": sorted(fds)}
`;

/**
 * Starts `command` in `dir`, writes `input` in one write, and resolves with the first result envelope it
 * answers (the process is killed then). Its scratch directories are its own: the server empties them.
 */
function firstResult(command: string[], dir: string, input: string, env: Record<string, string> = {}) {
  const scratch = mkdtempSync(join(root, 'scratch-'));
  const child = spawn(command[0]!, command.slice(1), {
    cwd: dir,
    env: { PATH: process.env.PATH, TMPDIR: scratch, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.write(input);
  return new Promise<unknown>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith(RESULT_MARKER));
      if (!line) return;
      child.kill();
      resolve(JSON.parse(line.slice(RESULT_MARKER.length)));
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before a result: ${err}`)));
  });
}

const init = (entryFile: string) =>
  `${JSON.stringify({ env: { HANDLER: 'main.handler', NANOGRID_ENTRY_FILE: entryFile } })}\n`;
const call = (payload: unknown) => `${JSON.stringify({ env: { PAYLOAD: JSON.stringify(payload), JOB_ID: 'j-1' } })}\n`;
const starter = pythonRuntime().serve!.prewarm!;

describe('the Python prewarm starter (a spare set up before its function is known)', () => {
  it('serves a first call that came in the same write as its init line', async () => {
    const dir = codeDir({
      'main.py': 'def handler(event, context):\n    return {"got": event, "id": context.job_id}\n',
    });
    expect(await firstResult(starter, dir, init('main.py') + call({ n: 7 }))).toEqual({
      ok: true,
      result: { got: { n: 7 }, id: 'j-1' },
    });
  });

  it('runs a script with no live-log thread or pipe left of the setup, as a server started for it', async () => {
    // A file with no handler is a script: its fd 1 is its capture, so the live-log pipe made beforehand is closed.
    const dir = codeDir({ 'script.py': `${PROBE}\nprint(json.dumps(state()))\n` });
    const spare = await firstResult(starter, dir, init('script.py') + call({}));
    const cold = await firstResult(['python3', '-u', PYTHON_SERVE_FILE], dir, call({}), {
      HANDLER: 'main.handler',
      NANOGRID_ENTRY_FILE: 'script.py',
    });
    expect(spare).toMatchObject({ ok: true, result: { threads: 1 } });
    expect(cold).toEqual(spare);
  });

  it("gives a handler the live-log pipe as its fd 1 (what it prints is the call's logs)", async () => {
    const dir = codeDir({
      'main.py': `${PROBE}\ndef handler(event, context):\n    print("hello")\n    return state()\n`,
    });
    const r = (await firstResult(starter, dir, init('main.py') + call({}))) as { result: { threads: number } };
    expect(r.result.threads).toBe(2); // the server and its live-log thread
  });
});

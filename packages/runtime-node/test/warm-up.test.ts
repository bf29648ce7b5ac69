// The warm-up a prewarmed Node spare runs before any function is known (bootstrap/warm.mjs): it must go through
// every step (a failure there is swallowed by the server, so this is where one shows), consume exactly the line
// it pushed, and leave the scratch directories empty.
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { NODE_LAMBDA_FILE, NODE_WARM_FILE } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'nanogrid-warm-up-'));
// The files as a code directory holds them (warm.mjs imports the Lambda layer by its name there).
copyFileSync(new URL('../bootstrap/lambda.mjs', import.meta.url), join(root, NODE_LAMBDA_FILE));
copyFileSync(new URL('../bootstrap/warm.mjs', import.meta.url), join(root, NODE_WARM_FILE));
const { Scratch, warmUp } = await import(pathToFileURL(join(root, NODE_WARM_FILE)).href);

afterAll(() => rmSync(root, { recursive: true, force: true }));

function setup(tmpDir: string) {
  const input = new PassThrough();
  const requests = createInterface({ input, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const writes: string[] = [];
  let calls = 0;
  const outDir = mkdtempSync(join(root, 'out-'));
  const args = {
    input,
    requests,
    call: async () => void calls++,
    write: (s: string) => void writes.push(s),
    tmp: new Scratch(tmpDir),
    out: new Scratch(outDir),
    shm: new Scratch(mkdtempSync(join(root, 'shm-'))),
  };
  return { args, input, requests, writes, calls: () => calls };
}

describe('Node spare warm-up', () => {
  it('runs every step, reads only its own line and leaves /tmp empty', async () => {
    const tmpDir = mkdtempSync(join(root, 'tmp-'));
    const s = setup(tmpDir);
    const tz = process.env.TZ;
    try {
      expect(await warmUp(s.args)).toBeUndefined();
      // Lambda's zone, set (and loaded) before any function: one that names the same is not set again.
      expect(process.env.TZ).toBe(tz ?? ':UTC');
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
    expect(s.calls()).toBe(1);
    expect(s.writes).toEqual(['']);
    expect(readdirSync(tmpDir)).toEqual([]);
    // Each listed empty once its warm-up changes were old enough: the first call's emptying is a stat each.
    for (const dir of [s.args.tmp, s.args.out, s.args.shm]) expect(dir.empty).toBeDefined();
    // The next line the server reads is the host's first, whole.
    s.input.write('{"env":{"HANDLER":"index.handler"}}\n');
    expect((await s.requests.next()).value).toBe('{"env":{"HANDLER":"index.handler"}}');
  });

  it('reports a step that failed (no writable /tmp) and still leaves the reader at the host line', async () => {
    const s = setup(join(root, 'missing', 'tmp'));
    expect(await warmUp(s.args)).toBeInstanceOf(Error);
    s.input.write('{"env":{}}\n');
    expect((await s.requests.next()).value).toBe('{"env":{}}');
  });
});

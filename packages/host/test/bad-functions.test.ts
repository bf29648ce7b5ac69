import { createZip } from '@nanogrid/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ErrorJson, HELLO_PY, type TestHost, deploy, makeHost, run, upload } from './helpers.js';

/** createZip refuses `..` names, so the name is patched in the bytes afterwards (same length). */
async function traversalZip(): Promise<Buffer> {
  const bytes = await createZip([{ path: 'xx/main.py', data: HELLO_PY }]);
  return Buffer.from(bytes.toString('latin1').replaceAll('xx/main.py', '../main.py'), 'latin1');
}

async function status(
  res: Response | Promise<Response>,
): Promise<{ status: number; body: { status?: string; error?: { code: string; message: string } } & ErrorJson }> {
  const r = await res;
  return { status: r.status, body: (await r.json()) as never };
}

/** Functions that misbehave, over HTTP: each answers a JSON error with the right status, and the host serves the next request. */
describe('bad functions and archives over HTTP (process sandbox)', () => {
  let host: TestHost;
  let helloId: string;
  beforeAll(async () => {
    host = await makeHost({}, {}, { maxArchiveBytes: 2 * 1024 * 1024, maxResultBytes: 64 * 1024 });
    helloId = await deploy(host.app, 'hello', HELLO_PY);
  });
  afterAll(async () => {
    await host?.close();
  });

  const stillServes = async (): Promise<void> => {
    const res = await status(run(host.app, { function_id: helloId, payload: { name: 'next' } }));
    expect(res).toMatchObject({ status: 200, body: { status: 'completed', result: { message: 'Hello, next!' } } });
  };

  it('a zip with ../ paths → 400 ARCHIVE_PATH_TRAVERSAL', async () => {
    const res = await status(
      upload(host.app, {
        file: { name: 'code.zip', content: await traversalZip() },
        function_name: 'evil',
        runtime: 'python3.9',
      }),
    );
    expect({ status: res.status, code: res.body.error.code }).toEqual({ status: 400, code: 'ARCHIVE_PATH_TRAVERSAL' });
    await stillServes();
  });

  it('a zip bomb → 413 ARCHIVE_TOO_LARGE', async () => {
    const bomb = await createZip([{ path: 'main.py', data: Buffer.alloc(8 * 1024 * 1024, 0x20) }]);
    expect(bomb.length).toBeLessThan(100 * 1024);
    const res = await status(
      upload(host.app, { file: { name: 'code.zip', content: bomb }, function_name: 'bomb', runtime: 'python3.9' }),
    );
    expect({ status: res.status, code: res.body.error.code }).toEqual({ status: 413, code: 'ARCHIVE_TOO_LARGE' });
    await stillServes();
  });

  it('a script that exits non-zero → 500 NON_ZERO_EXIT with its stderr', async () => {
    const id = await deploy(
      host.app,
      'exits',
      'import os, sys\nprint("bad input", file=sys.stderr, flush=True)\nos._exit(4)\n',
    );
    const res = await status(run(host.app, { function_id: id }));
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ status: 'failed', error: { code: 'NON_ZERO_EXIT' } });
    expect(res.body.error.message).toContain('bad input');
    await stillServes();
  });

  it('a function that prints megabytes is capped: the job fails RESULT_TOO_LARGE, the host keeps its memory', async () => {
    const id = await deploy(
      host.app,
      'chatty',
      'import sys\nfor _ in range(40):\n    sys.stdout.write("x" * 1024 * 1024)\n',
    );
    const res = await status(run(host.app, { function_id: id }));
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ status: 'failed', error: { code: 'RESULT_TOO_LARGE' } });
    expect(JSON.stringify(res.body).length).toBeLessThan(1024 * 1024);
    await stillServes();
  });

  it('a warm handler writing one endless line to the protocol fd → BAD_RESULT at the line cap, the host keeps its memory', async () => {
    // Node's warm server answers on fd 1: a direct write skips its console capture. 160 MiB, no newline.
    const code =
      "import { writeSync } from 'node:fs';\n" +
      'export const handler = () => {\n' +
      "  const mib = Buffer.alloc(1 << 20, 'x');\n" +
      '  for (let sent = 0; sent < 160 * mib.length; ) {\n' +
      '    try { sent += writeSync(1, mib); } catch {} // EAGAIN: the pipe is non-blocking, try again\n' +
      '  }\n' +
      '  return 1;\n' +
      '};\n';
    const up = await upload(host.app, {
      file: { name: 'endless.mjs', content: code },
      function_name: 'endless',
      runtime: 'nodejs20.x',
      handler: 'endless.handler',
    });
    expect(up.status).toBe(201);
    const before = process.memoryUsage().rss;
    const res = await status(run(host.app, { function: 'endless' }));
    expect(res.body).toMatchObject({ status: 'failed', error: { code: 'BAD_RESULT' } });
    expect(res.body.error.message).toMatch(/over \d+ bytes/);
    // At most the line cap (64 MiB) was held, never the 160 MiB written.
    expect(process.memoryUsage().rss - before).toBeLessThan(120 * 1024 * 1024);
    await stillServes();
  }, 60_000);

  it('a handler returning a result over the limit → RESULT_TOO_LARGE', async () => {
    const id = await deploy(
      host.app,
      'big-result',
      'def handler(event, context):\n    return {"blob": "y" * 200000}\n',
    );
    const res = await status(run(host.app, { function_id: id }));
    expect(res.body).toMatchObject({ status: 'failed', error: { code: 'RESULT_TOO_LARGE' } });
    await stillServes();
  });

  it('a function that allocates past its memory limit → OUT_OF_MEMORY', async () => {
    const hog = 'def handler(event, context):\n    a = []\n    while True:\n        a.append(b"x" * (8 << 20))\n';
    const id = await deploy(host.app, 'hog', hog, { memory_mb: '96', timeout: '30' });
    const res = await status(run(host.app, { function_id: id }));
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ status: 'failed', error: { code: 'OUT_OF_MEMORY' } });
    await stillServes();
  });
});

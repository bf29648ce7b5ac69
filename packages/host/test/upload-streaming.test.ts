import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createZip, silentLogger } from '@nanogrid/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningHost, startHost } from '../src/index.js';
import { removeStaleUploads } from '../src/http/receive-multipart.js';
import { type ErrorJson, HELLO_PY, uploadForm } from './helpers.js';

const LIMIT = 256 * 1024;

let host: RunningHost;
let dir: string;
let incoming: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nanogrid-upload-'));
  host = await startHost({
    config: {
      sandbox: 'process',
      hostname: '127.0.0.1',
      worker: { concurrency: 1, pollWaitMs: 1000 },
      http: { bodyLimitBytes: LIMIT, bodyIdleTimeoutMs: 500, rateLimit: false },
    },
    port: 0,
    cwd: dir,
    logger: silentLogger,
    handleSignals: false,
  });
  incoming = join(host.nanogrid.options.workDir, 'incoming');
});

afterAll(async () => {
  await host?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Temp upload files left behind (none once every request has ended). */
const leftovers = async (): Promise<string[]> => readdir(incoming).catch(() => []);
const noLeftovers = () =>
  vi.waitFor(async () => expect(await leftovers()).toEqual([]), { timeout: 5000, interval: 20 });

const post = (body: RequestInit['body'], headers: Record<string, string> = {}, init: Record<string, unknown> = {}) =>
  fetch(`${host.url}/upload`, { method: 'POST', body, headers, ...init } as RequestInit);

async function codeOf(res: Response): Promise<string> {
  return ((await res.json()) as ErrorJson).error.code;
}

const health = async (): Promise<number> => (await fetch(`${host.url}/health`)).status;

/** A raw multipart request: headers and the first part of the body, written by hand. */
function rawUpload(declaredLength: number, firstBytes: string): { done: Promise<string>; destroy(): void } {
  const socket = connect(host.port, '127.0.0.1');
  let answer = '';
  socket.on('data', (d) => (answer += d.toString()));
  socket.on('error', () => undefined);
  socket.write(
    `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=zz\r\nContent-Length: ${declaredLength}\r\n\r\n${firstBytes}`,
  );
  return { done: new Promise((resolve) => socket.on('close', () => resolve(answer))), destroy: () => socket.destroy() };
}

const FILE_HEAD = '--zz\r\nContent-Disposition: form-data; name="file"; filename="big.zip"\r\n\r\n';

describe('POST /upload streams the file to disk', () => {
  it('deploys a zip received as a file and runs it; the temp file is gone afterwards', async () => {
    const zip = await createZip([{ path: 'main.py', data: HELLO_PY }]);
    const res = await post(
      uploadForm({ file: { name: 'code.zip', content: zip }, function_name: 'z', runtime: 'python3' }),
    );
    expect(res.status).toBe(201);
    const { function_id, code_size } = (await res.json()) as { function_id: string; code_size: number };
    expect(code_size).toBe(zip.length);
    const run = await fetch(`${host.url}/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ function_id, payload: { name: 'disk' } }),
    });
    expect(await run.json()).toMatchObject({ status: 'completed', result: { message: 'Hello, disk!' } });
    await noLeftovers();
  });

  it('a declared length over the limit is refused at once with 413', async () => {
    const r = rawUpload(LIMIT + 1, FILE_HEAD);
    const answer = await r.done;
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    expect(answer).toContain('PAYLOAD_TOO_LARGE');
    await noLeftovers();
  });

  it('a body with no declared length is counted as it arrives: 413 past the limit, nothing left on disk', async () => {
    const form = uploadForm({
      file: { name: 'big.zip', content: Buffer.alloc(LIMIT * 2, 7) },
      function_name: 'big',
      runtime: 'python3',
    });
    const stream = new Response(form).body!;
    const contentType = new Response(form).headers.get('content-type')!;
    const res = await post(stream, { 'content-type': contentType }, { duplex: 'half' });
    expect(res.status).toBe(413);
    expect(await codeOf(res)).toBe('PAYLOAD_TOO_LARGE');
    await noLeftovers();
    expect(await health()).toBe(200);
  });

  it('a client that disconnects mid-file leaves no temp file and the host keeps serving', async () => {
    const r = rawUpload(200_000, `${FILE_HEAD}${'x'.repeat(50_000)}`);
    await vi.waitFor(async () => expect((await leftovers()).length).toBe(1), { timeout: 5000, interval: 10 });
    r.destroy();
    await r.done;
    await noLeftovers();
    expect(await health()).toBe(200);
  });

  it('a client that stalls mid-file is dropped (408) and its temp file removed', async () => {
    const r = rawUpload(200_000, `${FILE_HEAD}${'x'.repeat(10_000)}`);
    expect(await r.done).toMatch(/^HTTP\/1\.1 408/);
    await noLeftovers();
  });

  it('a malformed or truncated multipart body is 400 BAD_REQUEST with nothing left behind', async () => {
    const truncated = `${FILE_HEAD}print(1)\r\n--zz\r\nContent-Disposition: form-data; name="function_name"\r\n\r\nx`;
    const res = await post(truncated, { 'content-type': 'multipart/form-data; boundary=zz' });
    expect(res.status).toBe(400);
    expect(await codeOf(res)).toBe('BAD_REQUEST');
    const noBoundary = await post('whatever', { 'content-type': 'multipart/form-data' });
    expect(await codeOf(noBoundary)).toBe('BAD_REQUEST');
    await noLeftovers();
  });

  it('two files in "file", a text field sent as a file, an oversized field, too many parts: typed 400s', async () => {
    const two = uploadForm({ function_name: 'two', runtime: 'python3' });
    two.append('file', new Blob(['a']), 'a.py');
    two.append('file', new Blob(['b']), 'b.py');
    const a = await post(two);
    expect(await a.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'file' } });

    const asFile = uploadForm({ file: { name: 'h.py', content: HELLO_PY }, runtime: 'python3' });
    asFile.append('function_name', new Blob(['x']), 'name.txt');
    expect(await (await post(asFile)).json()).toMatchObject({
      error: { code: 'VALIDATION_FAILED', field: 'function_name' },
    });

    const longEnv = uploadForm({ file: { name: 'h.py', content: HELLO_PY }, function_name: 'e', runtime: 'python3' });
    longEnv.append('env', JSON.stringify({ A: 'x'.repeat(70_000) }));
    expect(await (await post(longEnv)).json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'env' } });

    const many = uploadForm({ file: { name: 'h.py', content: HELLO_PY }, function_name: 'm', runtime: 'python3' });
    for (let i = 0; i < 100; i++) many.append(`f${i}`, 'x');
    expect(await codeOf(await post(many))).toBe('BAD_REQUEST');
    await noLeftovers();
  });

  it('a file that is not a zip is BAD_ARCHIVE and removed', async () => {
    const res = await post(
      uploadForm({ file: { name: 'x.zip', content: 'not a zip' }, function_name: 'n', runtime: 'python3' }),
    );
    expect(await codeOf(res)).toBe('BAD_ARCHIVE');
    await noLeftovers();
  });

  it('at start, upload temp files left by a process that died mid-request are removed; recent ones are not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nanogrid-stale-'));
    try {
      await mkdir(join(dir, 'upload-old'));
      await writeFile(join(dir, 'upload-old', 'file'), 'half an upload');
      const hoursAgo = new Date(Date.now() - 2 * 3_600_000);
      await utimes(join(dir, 'upload-old'), hoursAgo, hoursAgo);
      await mkdir(join(dir, 'upload-live'));
      await mkdir(join(dir, 'not-an-upload'));
      await utimes(join(dir, 'not-an-upload'), hoursAgo, hoursAgo);
      expect(await removeStaleUploads(dir, 3_600_000)).toBe(1);
      expect((await readdir(dir)).sort()).toEqual(['not-an-upload', 'upload-live']);
      expect(await removeStaleUploads(join(dir, 'missing'), 0)).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

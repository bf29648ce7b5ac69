import { type Server, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { dockerTestEnv } from '@nanogrid/sandbox-docker/testing';
import { pythonRuntime } from '@nanogrid/runtime-python';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultRuntimes } from '../src/index.js';
import { gradientPng } from '../src/demo/docker-cases.js';
import {
  PYTHON_IMAGES,
  type JobJson,
  containersLabelled,
  dockerBridgeGateway,
  example,
  makeEngineHost,
} from './engine-host.js';
import { FAIL_PY, HELLO_PY, type TestHost, deploy, run } from './helpers.js';

const env = await dockerTestEnv(PYTHON_IMAGES);
const MiB = 1024 * 1024;

const FORK_BOMB_PY = `import os

def handler(event, context):
    while True:
        try:
            os.fork()
        except OSError:
            pass
`;

/** Forks sleeping children until the kernel says no, then reports how many it got. */
const FORK_COUNT_PY = `import errno, os, signal, time

def handler(event, context):
    children, error = [], None
    try:
        for _ in range(1000):
            pid = os.fork()
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            children.append(pid)
    except OSError as e:
        error = errno.errorcode.get(e.errno, str(e.errno))
    for pid in children:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return {"forked": len(children), "error": error}
`;

const FILL_TMP_PY = `import os

def handler(event, context):
    if event.get("list"):
        return {"tmp": sorted(os.listdir("/tmp"))}
    chunk = b"x" * (1 << 20)
    with open("/tmp/fill.bin", "wb") as f:
        while True:
            f.write(chunk)
            f.flush()
`;

const WRITE_PY = `def handler(event, context):
    with open(event["path"], "w") as f:
        f.write("escaped")
    return {"wrote": event["path"]}
`;

const CONNECT_PY = `import socket

def handler(event, context):
    with socket.create_connection((event["host"], event["port"]), timeout=3) as s:
        return {"got": s.recv(100).decode()}
`;

const SLEEP_PY = `import time

def handler(event, context):
    time.sleep(60)
`;

/** Touches every page it allocates (bytes * n writes them), so the memory is really used. */
const HOG_PY = `def handler(event, context):
    hog = []
    while True:
        hog.append(b"x" * (8 * 1024 * 1024))
`;

describe.skipIf(!env.ready)('functions in the Docker sandbox, through the engine and the HTTP API', () => {
  let host: TestHost;
  let helloId: string;
  beforeAll(async () => {
    // A runtime whose image is not on the engine: runs must fail fast with IMAGE_NOT_FOUND.
    const missing = pythonRuntime({
      name: 'python-missing',
      image: 'nanogrid/does-not-exist:1',
      runtimes: ['python-missing'],
    });
    host = await makeEngineHost({ sandbox: 'docker', runtimes: [...defaultRuntimes(), missing] });
    helloId = await deploy(host.app, 'hello', HELLO_PY);
  });
  afterAll(async () => {
    await host?.close();
  });

  const runJob = async (functionId: string, payload: unknown = {}): Promise<{ http: number; job: JobJson }> => {
    const res = await run(host.app, { function_id: functionId, payload });
    return { http: res.status, job: (await res.json()) as JobJson };
  };
  const failure = async (functionId: string, payload: unknown = {}): Promise<JobJson['error'] & { job: JobJson }> => {
    const { job } = await runJob(functionId, payload);
    expect(job.status).toBe('failed');
    return { ...job.error!, job };
  };
  /** The worker survived: the next job runs and completes. */
  const nextJobWorks = async (): Promise<void> => {
    const { http, job } = await runJob(helloId, { name: 'next' });
    expect({ http, status: job.status, result: job.result }).toEqual({
      http: 200,
      status: 'completed',
      result: { message: 'Hello, next!' },
    });
  };
  const noContainerLeft = async (job: JobJson): Promise<void> => {
    expect(await containersLabelled('nanogrid.job', job.job_id)).toEqual([]);
  };

  it('runs the original hello.py unchanged; peak memory is on the job, over HTTP too', async () => {
    expect(host.nanogrid.sandbox.name).toBe('docker');
    const { http, job } = await runJob(helloId, { name: 'NanoGrid' });
    expect(http).toBe(200);
    expect(job).toMatchObject({ status: 'completed', result: { message: 'Hello, NanoGrid!' }, output_files: [] });
    expect(job.peak_memory_bytes).toBeGreaterThan(1 * MiB);
    expect(job.peak_memory_bytes).toBeLessThan(512 * MiB);
    const status = (await (await host.app.request(`/status/${job.job_id}`)).json()) as JobJson;
    expect(status.peak_memory_bytes).toBe(job.peak_memory_bytes);
    expect((await host.nanogrid.jobs.status(job.job_id)).peak_memory_bytes).toBe(job.peak_memory_bytes);
    await noContainerLeft(job);
  });

  it('a function that raises fails with FUNCTION_ERROR and its type', async () => {
    const id = await deploy(host.app, 'fails', FAIL_PY);
    const e = await failure(id);
    expect(e).toMatchObject({ code: 'FUNCTION_ERROR', type: 'ValueError' });
    expect(e.message).toContain('divisor must not be zero');
    await nextJobWorks();
  });

  it('a fork bomb stops at the pids limit and dies with its timeout; the container is removed', async () => {
    const count = await deploy(host.app, 'fork-count', FORK_COUNT_PY);
    const { job: counted } = await runJob(count);
    expect(counted.status).toBe('completed');
    expect(counted.result).toMatchObject({ error: 'EAGAIN' });
    expect(counted.result?.['forked']).toBeLessThan(128);

    const bomb = await deploy(host.app, 'fork-bomb', FORK_BOMB_PY, { timeout: '3' });
    const started = Date.now();
    const e = await failure(bomb);
    expect(e.code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(20_000);
    await noContainerLeft(e.job);
    await nextJobWorks();
  });

  it('filling /tmp past disk_mb fails inside the function (ENOSPC); the next run gets an empty /tmp', async () => {
    // The quota is tmpfs, which counts as memory: it is set below memory_mb (512) so ENOSPC comes first.
    const id = await deploy(host.app, 'fill-tmp', FILL_TMP_PY, { disk_mb: '48' });
    const e = await failure(id);
    expect(e).toMatchObject({ code: 'FUNCTION_ERROR', type: 'OSError' });
    expect(e.message).toContain('No space left on device');
    const { job } = await runJob(id, { list: true });
    expect(job.result).toEqual({ tmp: [] });
    await nextJobWorks();
  });

  it('writing outside /output fails inside the function: read-only root, read-only code', async () => {
    const id = await deploy(host.app, 'escape', WRITE_PY);
    for (const [path, why] of [
      ['/escape.txt', 'Read-only file system'],
      ['/usr/lib/escape.txt', 'Read-only file system'],
      // A read-only bind of the code on a local engine (through the archive API: owned by root, Permission denied).
      ['/code/escape.txt', 'Read-only file system'],
    ] as const) {
      const e = await failure(id, { path });
      expect({ path, code: e.code, has: e.message.includes(why) }).toEqual({ path, code: 'FUNCTION_ERROR', has: true });
    }
    expect((await runJob(id, { path: '/tmp/fine.txt' })).job.result).toEqual({ wrote: '/tmp/fine.txt' });
    await nextJobWorks();
  });

  describe('network', () => {
    let server: Server;
    let target: { host: string; port: number };
    beforeAll(async () => {
      // A listener on this machine's Docker bridge address: reachable from a container that has a network.
      const gateway = await dockerBridgeGateway();
      server = createServer((sock) => sock.end('hello from the host'));
      await new Promise<void>((resolve) => server.listen(0, gateway, resolve));
      target = { host: gateway, port: (server.address() as AddressInfo).port };
    });
    afterAll(async () => {
      await new Promise((resolve) => server?.close(resolve));
    });

    it('a connection under policy none fails; the same one works under internet', async () => {
      const closed = await deploy(host.app, 'connect-none', CONNECT_PY);
      const e = await failure(closed, target);
      expect(e.code).toBe('FUNCTION_ERROR');
      expect(e.message).toMatch(/Network is unreachable|Errno 101/);
      const open = await deploy(host.app, 'connect-internet', CONNECT_PY, { network: 'internet' });
      expect((await runJob(open, target)).job.result).toEqual({ got: 'hello from the host' });
      await nextJobWorks();
    });
  });

  it('a function sleeping past its timeout is killed: TIMEOUT, its container removed', async () => {
    const id = await deploy(host.app, 'sleepy', SLEEP_PY, { timeout: '2' });
    const started = Date.now();
    const { http, job } = await runJob(id);
    expect(http).toBe(504);
    expect(job.error).toMatchObject({ code: 'TIMEOUT' });
    expect(job.error?.message).toContain('timeout of 2 s');
    expect(Date.now() - started).toBeLessThan(15_000);
    await noContainerLeft(job);
    await nextJobWorks();
  });

  it('an image that does not exist fails at once with IMAGE_NOT_FOUND naming it', async () => {
    const id = await deploy(host.app, 'no-image', HELLO_PY, { runtime: 'python-missing' });
    const started = Date.now();
    const e = await failure(id);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(e.code).toBe('IMAGE_NOT_FOUND');
    expect(e.message).toContain('nanogrid/does-not-exist:1');
    expect(e.message).toContain('nanogrid images build');
    await nextJobWorks();
  });

  it('an allocation past memory_mb is killed: OUT_OF_MEMORY, with the peak near the limit', async () => {
    const id = await deploy(host.app, 'hog', HOG_PY, { memory_mb: '64' });
    const e = await failure(id);
    expect(e.code).toBe('OUT_OF_MEMORY');
    expect(e.message).toContain('64 MB');
    expect(e.job.peak_memory_bytes).toBeGreaterThan(48 * MiB);
    // Read from the run's parent cgroup, which also counts a little kernel memory beside the container.
    expect(e.job.peak_memory_bytes).toBeLessThanOrEqual(65 * MiB);
    await noContainerLeft(e.job);
    await nextJobWorks();
  });

  it('the image processor resizes with Pillow on python3-fat and leaves /output/resized.png', async () => {
    const source = await example('image_processor.py');
    const id = await deploy(host.app, 'image_processor', source, {
      runtime: 'python3-fat',
      handler: 'image_processor.handler',
    });
    const fn = (await (await host.app.request(`/functions/${id}`)).json()) as { runtime_plugin: string };
    expect(fn.runtime_plugin).toBe('python-fat');

    const { http, job } = await runJob(id, { image: gradientPng(48, 32).toString('base64'), width: 24 });
    expect(http).toBe(200);
    expect(job.result).toMatchObject({
      original: { width: 48, height: 32, format: 'PNG' },
      resized: { width: 24, height: 16 },
      file: 'resized.png',
    });
    expect(job.output_files).toHaveLength(1);
    const link = new URL(job.output_files[0]!);
    expect(link.pathname).toBe(`/files/outputs/${job.job_id}/resized.png`);
    const png = Buffer.from(await (await host.app.request(`${link.pathname}${link.search}`)).arrayBuffer());
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect({ width: png.readUInt32BE(16), height: png.readUInt32BE(20) }).toEqual({ width: 24, height: 16 });
    expect(png.length).toBe(job.result?.['bytes']);

    // The plain image has no Pillow: the runtime id picks the image.
    const plain = await deploy(host.app, 'image_plain', source, {
      runtime: 'python3.11',
      handler: 'image_processor.handler',
    });
    const e = await failure(plain, { image: gradientPng(4, 4).toString('base64') });
    expect(e.message).toContain("No module named 'PIL'");
  });
});

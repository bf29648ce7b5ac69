import { silentLogger } from '@nanogrid/core';
import { dockerSandbox } from '@nanogrid/sandbox-docker';
import { dockerTestEnv } from '@nanogrid/sandbox-docker/testing';
import { nodeRuntime } from '@nanogrid/runtime-node';
import { pythonRuntime } from '@nanogrid/runtime-python';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEngineHost } from './engine-host.js';
import { type TestHost, deploy, run, upload } from './helpers.js';

interface Job {
  job_id: string;
  status: string;
  start?: string;
  result?: Record<string, unknown>;
  error?: { code: string; message: string };
  output_files: string[];
  logs?: string;
  peak_memory_bytes?: number;
}

const COUNTER_PY = `import os
loads = 0
loads += 1
calls = 0

def handler(event, context):
    global calls
    calls += 1
    print("call", calls)
    leftovers = sorted(os.listdir(os.environ["TMPDIR"])) + sorted(os.listdir(os.environ["OUTPUT_DIR"]))
    if event.get("write"):
        open(os.path.join(os.environ["TMPDIR"], "secret.txt"), "w").write("from " + context.job_id)
        open(os.path.join(os.environ["OUTPUT_DIR"], "out.txt"), "w").write("from " + context.job_id)
    return {"loads": loads, "calls": calls, "leftovers": leftovers, "job_id": context.job_id}
`;

const HANG_PY =
  'import time\n\ndef handler(event, context):\n    if event.get("hang"):\n        time.sleep(3600)\n    return {"ok": True}\n';
const CRASH_PY =
  'import os\n\ndef handler(event, context):\n    if event.get("crash"):\n        os._exit(3)\n    return {"ok": True}\n';
const GARBAGE_PY = `import os, stat

def handler(event, context):
    if event.get("garbage"):
        # Whatever carries the protocol (a pipe, a socket pair or a named pipe), other than our stdin and stderr.
        mine = {os.readlink("/proc/self/fd/0"), os.readlink("/proc/self/fd/2")}
        for fd in os.listdir("/proc/self/fd"):
            try:
                link = os.readlink("/proc/self/fd/" + fd)
                mode = os.fstat(int(fd)).st_mode
            except OSError:
                continue
            if (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)) and link not in mine:
                try:
                    os.write(int(fd), b"garbage on the protocol channel\\n")
                except OSError:
                    pass  # the read end of a pipe
    return {"ok": True}
`;
const ALLOC_PY =
  'def handler(event, context):\n    block = bytearray(event.get("mb", 0) * 1024 * 1024)\n    return {"held": len(block)}\n';
const LEAK_PY =
  'kept = []\n\ndef handler(event, context):\n    kept.append(bytearray(24 * 1024 * 1024))\n    return {"held_mb": 24 * len(kept)}\n';

const env = await dockerTestEnv(['nanogrid/python:3', 'nanogrid/node:18']);

const sandboxes = [
  { sandbox: 'docker', ready: env.ready },
  { sandbox: 'process', ready: true },
] as const;

/** Warm instances in both sandboxes: reuse, isolation between invocations, and instances that misbehave. */
describe.each(sandboxes)('warm instances ($sandbox sandbox)', ({ sandbox, ready }) => {
  if (!ready) return void it.skip(`needs Docker: ${env.reason}`);
  let host: TestHost;
  beforeAll(async () => {
    host = await makeEngineHost({ sandbox, warm: { enabled: true, prewarm: {} } });
  });
  afterAll(async () => {
    await host?.close();
  });

  const call = async (id: string, payload: unknown = {}): Promise<Job> =>
    (await run(host.app, { function_id: id, payload })).json() as Promise<Job>;

  it('loads the function once and serves later calls warm; logs stay per invocation', async () => {
    const id = await deploy(host.app, 'counter', COUNTER_PY);
    const first = await call(id);
    const second = await call(id);
    expect(first).toMatchObject({ status: 'completed', start: 'cold', result: { loads: 1, calls: 1 } });
    expect(second).toMatchObject({ status: 'completed', start: 'warm', result: { loads: 1, calls: 2 } });
    expect(second.logs).toContain('call 2');
    expect(second.logs).not.toContain('call 1');
  });

  it('Node handlers are served warm too (imported once)', async () => {
    const src =
      'let calls = 0;\nexport async function handler(event) { calls += 1; console.log("node call", calls); return { calls, n: event.n }; }\n';
    const res = await upload(host.app, {
      file: { name: 'counter.mjs', content: src },
      function_name: 'node-counter',
      runtime: 'nodejs18.x',
      handler: 'counter.handler',
    });
    const id = ((await res.json()) as { function_id: string }).function_id;
    expect(await call(id, { n: 1 })).toMatchObject({ status: 'completed', start: 'cold', result: { calls: 1, n: 1 } });
    const second = await call(id, { n: 2 });
    expect(second).toMatchObject({ status: 'completed', start: 'warm', result: { calls: 2, n: 2 } });
    expect(second.logs).toContain('node call 2');
  });

  it('peak memory is measured per call on a warm instance, not over its whole life', async () => {
    const MiB = 1024 * 1024;
    const id = await deploy(host.app, 'alloc', ALLOC_PY, { memory_mb: '256' });
    await call(id); // started cold
    const big = await call(id, { mb: 64 });
    const small = await call(id, { mb: 0 });
    expect(big).toMatchObject({ status: 'completed', start: 'warm' });
    expect(small).toMatchObject({ status: 'completed', start: 'warm' });
    expect(big.peak_memory_bytes).toBeGreaterThan(64 * MiB);
    expect(small.peak_memory_bytes).toBeGreaterThan(1 * MiB);
    expect(small.peak_memory_bytes).toBeLessThan(big.peak_memory_bytes! - 32 * MiB);
  });

  it('at its per-function cap a call waits for an instance of its function (handed over in order) instead of starting cold', async () => {
    const capped = await makeEngineHost({
      sandbox,
      warm: { enabled: true, prewarm: {}, maxPerFunction: 1 },
      worker: { concurrency: 4 },
    });
    try {
      const id = await deploy(
        capped.app,
        'capped',
        'import time\n\ndef handler(event, context):\n    time.sleep(0.2)\n    return {"n": event["n"]}\n',
      );
      const jobs = await Promise.all(
        [1, 2, 3].map(async (n) => (await run(capped.app, { function_id: id, payload: { n } })).json() as Promise<Job>),
      );
      expect(jobs.map((j) => [j.status, j.result?.['n']])).toEqual([
        ['completed', 1],
        ['completed', 2],
        ['completed', 3],
      ]);
      expect(jobs.map((j) => j.start).sort()).toEqual(['cold', 'warm', 'warm']);
    } finally {
      await capped.close();
    }
  });

  it('a call sees nothing of the previous one in /tmp or /output, and gets only its own output files', async () => {
    const id = await deploy(host.app, 'isolated', COUNTER_PY);
    const writer = await call(id, { write: true });
    expect(writer.output_files).toHaveLength(1);
    const next = await call(id);
    expect(next).toMatchObject({ status: 'completed', start: 'warm', result: { leftovers: [] } });
    expect(next.output_files).toEqual([]);
  });

  it('a long log of one warm call leaves nothing in the next; handlers get the arguments they take', async () => {
    const id = await deploy(
      host.app,
      'say',
      'def handler(event):\n    print(event["say"] * event["n"])\n    return {}\n',
    );
    await call(id, { say: 'A', n: 1 });
    const long = await call(id, { say: 'A', n: 5000 });
    const short = await call(id, { say: 'B', n: 3 });
    expect(long).toMatchObject({ status: 'completed', start: 'warm' });
    expect(long.logs).toContain('A'.repeat(5000));
    expect(short).toMatchObject({ status: 'completed', start: 'warm' });
    expect(short.logs).toContain('BBB');
    expect(short.logs).not.toContain('A');
    const star = await deploy(host.app, 'star', 'def handler(*args):\n    return {"n": len(args)}\n');
    const extra = await deploy(
      host.app,
      'extra',
      'def handler(e, c, x=7):\n    return {"x": x, "c": c.job_id != ""}\n',
    );
    for (let i = 0; i < 2; i++) {
      expect(await call(star)).toMatchObject({ status: 'completed', result: { n: 2 } });
      expect(await call(extra)).toMatchObject({ status: 'completed', result: { x: 7, c: true } });
    }
  });

  it('a handler that never returns is killed at its deadline; the instance is replaced', async () => {
    const id = await deploy(host.app, 'hang', HANG_PY, { timeout: '2' });
    expect(await call(id)).toMatchObject({ status: 'completed' });
    expect(await call(id, { hang: true })).toMatchObject({ status: 'failed', error: { code: 'TIMEOUT' } });
    expect(await call(id)).toMatchObject({ status: 'completed', start: 'cold' });
  });

  it('a handler that kills the server fails its call cleanly; the next call gets a new instance', async () => {
    const id = await deploy(host.app, 'crash', CRASH_PY);
    expect(await call(id)).toMatchObject({ status: 'completed' });
    const crashed = await call(id, { crash: true });
    expect(crashed).toMatchObject({ status: 'failed', error: { code: 'NON_ZERO_EXIT' } });
    expect(await call(id)).toMatchObject({ status: 'completed', start: 'cold' });
  });

  it('garbage on the protocol channel fails the call with BAD_RESULT and discards the instance', async () => {
    const id = await deploy(host.app, 'garbage', GARBAGE_PY);
    expect(await call(id)).toMatchObject({ status: 'completed' });
    const bad = await call(id, { garbage: true });
    expect(bad).toMatchObject({ status: 'failed', error: { code: 'BAD_RESULT' } });
    expect(await call(id)).toMatchObject({ status: 'completed', start: 'cold' });
  });

  it('memory leaked across calls ends in OUT_OF_MEMORY at the limit; the next call starts fresh', async () => {
    const id = await deploy(host.app, 'leak', LEAK_PY, { memory_mb: '128' });
    let failed: Job | undefined;
    for (let i = 0; i < 10 && !failed; i++) {
      const job = await call(id);
      if (job.status === 'failed') failed = job;
    }
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'OUT_OF_MEMORY' } });
    expect(await call(id)).toMatchObject({ status: 'completed', start: 'cold', result: { held_mb: 24 } });
  }, 60_000);
});

/** Prewarmed generic containers (Docker only: a process starts in milliseconds without them). */
describe.skipIf(!env.ready)('prewarmed instances (Docker sandbox)', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await makeEngineHost({ sandbox: 'docker', warm: { enabled: true, prewarm: {} } });
  });
  afterAll(async () => {
    await host?.close();
  });
  const call = async (id: string, payload: unknown = {}): Promise<Job> =>
    (await run(host.app, { function_id: id, payload })).json() as Promise<Job>;

  it('a prewarmed instance serves the first call of a function no worker has seen', async () => {
    const sandbox = host.nanogrid.sandbox;
    await sandbox.prewarm!({ image: 'nanogrid/python:3', command: pythonRuntime().serve!.prewarm!, count: 1 });
    const id = await deploy(host.app, 'fresh', COUNTER_PY, { memory_mb: '256' });
    const first = await call(id);
    expect(first).toMatchObject({
      status: 'completed',
      start: 'prewarmed',
      result: { loads: 1, calls: 1, leftovers: [] },
    });
    expect(await call(id)).toMatchObject({ status: 'completed', start: 'warm', result: { calls: 2 } });
  });

  it('a prewarmed Node instance serves the first call of a Node function, then serves it warm', async () => {
    await host.nanogrid.sandbox.prewarm!({
      image: 'nanogrid/node:18',
      command: nodeRuntime().serve!.prewarm!,
      count: 1,
    });
    const src =
      'console.log("loading");\nlet calls = 0;\nexport async function handler(event) { calls += 1; console.log("log", calls); return { calls, n: event.n, job: process.env.JOB_ID }; }\n';
    const res = await upload(host.app, {
      file: { name: 'fresh.mjs', content: src },
      function_name: 'node-fresh',
      runtime: 'nodejs18.x',
      handler: 'fresh.handler',
      memory_mb: '256',
    });
    const id = ((await res.json()) as { function_id: string }).function_id;
    const first = await call(id, { n: 1 });
    expect(first).toMatchObject({ status: 'completed', start: 'prewarmed', result: { calls: 1, n: 1 } });
    expect(first.logs).toContain('log 1');
    // Printed while the module loads: Lambda's request id "undefined", as on a cold start (the spare's warm-up of
    // the call path before any function was known leaves no id of its own behind).
    expect(first.logs).toMatch(/\tundefined\tINFO\tloading\n/);
    expect(first.logs).toContain(`\t${first.job_id}\tINFO\tlog 1`);
    expect(await call(id, { n: 2 })).toMatchObject({ status: 'completed', start: 'warm', result: { calls: 2, n: 2 } });
  });
});

/**
 * A remote engine cannot bind host paths: there the protocol and stderr share the attach stream, and code goes
 * in through the archive API (a spare loads the runtime once the function's code is there).
 */
describe.skipIf(!env.ready)('warm instances over the attach stream, code by archive (as with a remote engine)', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await makeEngineHost({
      sandbox: dockerSandbox({ warmPipes: false, codeDirs: false, logger: silentLogger }),
      warm: { enabled: true, prewarm: {} },
    });
  });
  afterAll(async () => {
    await host?.close();
  });
  const call = async (id: string, payload: unknown = {}): Promise<Job> =>
    (await run(host.app, { function_id: id, payload })).json() as Promise<Job>;

  it('loads once, serves warm, keeps logs per call; a failing call fails cleanly', async () => {
    const id = await deploy(host.app, 'attach-counter', COUNTER_PY);
    expect(await call(id)).toMatchObject({ status: 'completed', start: 'cold', result: { loads: 1, calls: 1 } });
    const second = await call(id);
    expect(second).toMatchObject({ status: 'completed', start: 'warm', result: { loads: 1, calls: 2 } });
    expect(second.logs).toContain('call 2');
    const crash = await deploy(
      host.app,
      'attach-crash',
      'import sys\n\ndef handler(event, context):\n    sys.stderr.write("about to fail\\n")\n    raise ValueError("no good")\n',
    );
    const failed = await call(crash);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'FUNCTION_ERROR' } });
  });

  it('garbage on the channel is BAD_RESULT and the next call gets a new instance', async () => {
    const id = await deploy(host.app, 'attach-garbage', GARBAGE_PY);
    expect(await call(id)).toMatchObject({ status: 'completed' });
    expect(await call(id, { garbage: true })).toMatchObject({ status: 'failed', error: { code: 'BAD_RESULT' } });
    expect(await call(id)).toMatchObject({ status: 'completed', start: 'cold' });
  });

  // Last: the spare it starts would serve the cold calls the cases above expect.
  it('a prewarmed spare takes the code of a function no worker has seen through the archive API', async () => {
    const py = pythonRuntime();
    await host.nanogrid.sandbox.prewarm!({
      image: py.image,
      command: py.serve!.prewarm!,
      count: 1,
      files: py.bootstrap,
    });
    const id = await deploy(host.app, 'attach-fresh', COUNTER_PY);
    expect(await call(id)).toMatchObject({ status: 'completed', start: 'prewarmed', result: { loads: 1, calls: 1 } });
    expect(await call(id)).toMatchObject({ status: 'completed', start: 'warm', result: { calls: 2 } });
  });
});

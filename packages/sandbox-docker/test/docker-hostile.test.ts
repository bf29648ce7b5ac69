import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type JobRecord, type NanoGrid, silentLogger } from '@nanogrid/core';
import { eventually } from '@nanogrid/core/testing';
import { pythonRuntime } from '@nanogrid/runtime-python';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDocker } from '../src/docker-client.js';
import { dockerSandbox } from '../src/docker-sandbox.js';
import { containersLabelled, dockerTestEnv, PYTHON_IMAGE } from './helpers/docker-env.js';
import { composeInDir } from './helpers/compose-in-dir.js';

const env = await dockerTestEnv([PYTHON_IMAGE]);

/** After its handler returned, a thread of the warm instance allocates without end. */
const HOG_PY = `import threading, time

def hog():
    time.sleep(0.3)
    chunks = []
    while True:
        chunks.append(bytearray(1 << 20))

def handler(event, context):
    if event.get("hog"):
        threading.Thread(target=hog, daemon=True).start()
    return {"ok": True}
`;

/** Fills /tmp and reports the errno that stopped it. */
const FILL_PY = `import os

def handler(event, context):
    written = 0
    try:
        with open(os.path.join(os.environ["TMPDIR"], "fill"), "wb") as f:
            while written < (event["mb"] << 20):
                f.write(b"x" * (1 << 20))
                f.flush()
                written += 1 << 20
        errno = 0
    except OSError as e:
        errno = e.errno
    os.remove(os.path.join(os.environ["TMPDIR"], "fill"))
    return {"errno": errno, "written": written}
`;

/** Reports what the function is inside a warm instance. */
const WHOAMI_PY = `def handler(event, context):
    status = dict(l.split(":\\t") for l in open("/proc/self/status").read().splitlines() if ":\\t" in l)
    return {k: status[k].strip() for k in ["CapEff", "CapBnd", "NoNewPrivs", "Uid", "Gid"]}
`;

/**
 * Writes report.txt, answers, and keeps swapping it for a link to a secret
 * while the host copies /output out (the race of a warm instance that outlives its answer).
 */
const SWAP_PY = `import os, threading
GEN = [0]

def swap(path, gen):
    out = os.path.dirname(path)
    for _ in range(20000):
        if GEN[0] != gen:
            return  # the next call began: stop, as its own thread takes over
        try:
            # Atomic swaps: the name is always there, a plain file or a link to a secret.
            os.symlink("/etc/shadow", os.path.join(out, ".l"))
            os.rename(os.path.join(out, ".l"), path)
            with open(os.path.join(out, ".p"), "w") as f:
                f.write("plain")
            os.rename(os.path.join(out, ".p"), path)
        except OSError:
            pass

def handler(event, context):
    GEN[0] += 1
    path = os.path.join(os.environ["OUTPUT_DIR"], "report.txt")
    with open(path + ".new", "w") as f:
        f.write("plain")
    os.rename(path + ".new", path)  # replaces a link left by the last call's thread instead of following it
    threading.Thread(target=swap, args=(path, GEN[0]), daemon=True).start()
    return {"ok": True}
`;

/** Hostile functions on warm Docker instances, through the real engine. */
describe.skipIf(!env.ready)('Docker sandbox against hostile functions (warm instances)', () => {
  let ng: NanoGrid;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-docker-hostile-'));
    ng = await composeInDir(dir, {
      sandbox: dockerSandbox({ logger: silentLogger, workerId: `hostile-${process.pid}` }),
      worker: { concurrency: 2, pollWaitMs: 500 },
      warm: { enabled: true, prewarm: {} },
      runtimes: [pythonRuntime()],
    });
    ng.worker?.start();
  });
  afterAll(async () => {
    await ng?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const deploy = async (name: string, code: string, extra: { memoryMb?: number; diskMb?: number } = {}) =>
    (
      await ng.registry.deploy({
        functionName: `${name}-${Date.now()}`,
        runtime: 'python3',
        fileName: 'main.py',
        data: Buffer.from(code),
        ...extra,
      })
    ).function_id;
  const call = async (fid: string, payload: unknown): Promise<JobRecord> => {
    const { record } = await ng.jobs.submit(fid, payload);
    return ng.jobs.wait(record.job_id, { timeoutMs: 60_000 });
  };

  it('a warm instance stays inside its memory limit after its handler returned: the allocation is killed', async () => {
    const fid = await deploy('hog', HOG_PY, { memoryMb: 64 });
    expect(await call(fid, { hog: true })).toMatchObject({ status: 'completed', result: { ok: true } });
    const [id] = await containersLabelled('nanogrid.function', fid);
    expect(id).toBeDefined();
    const docker = await openDocker();
    // The cgroup covers the whole container: the thread is killed at 64 MiB, not let grow to the host's memory.
    await eventually(async () => {
      const state = await docker
        .getContainer(id!)
        .inspect()
        .then((c) => c.State)
        .catch(() => undefined); // removed by the pool once it saw the instance die
      if (state?.Running && !state.OOMKilled) throw new Error('still running');
      if (state) expect(state.OOMKilled || state.ExitCode === 137).toBe(true);
    }, 20_000);
    // The next call is served (by a new instance), not failed by what the last one left.
    expect(await call(fid, {})).toMatchObject({ status: 'completed', result: { ok: true } });
  });

  it('a warm instance keeps the disk quota: writes past disk_mb fail with ENOSPC, call after call', async () => {
    const fid = await deploy('fill', FILL_PY, { memoryMb: 256, diskMb: 16 });
    for (let i = 0; i < 2; i++) {
      const job = await call(fid, { mb: 40 });
      expect(job).toMatchObject({ status: 'completed', result: { errno: 28 } });
      expect((job.result as { written: number }).written).toBeLessThanOrEqual(16 * 1024 * 1024);
    }
    // Under the quota the same function writes freely.
    expect(await call(fid, { mb: 4 })).toMatchObject({ status: 'completed', result: { errno: 0 } });
  });

  it('a warm instance runs as nobody with no capabilities and no way to gain privileges', async () => {
    const fid = await deploy('whoami', WHOAMI_PY);
    const job = await call(fid, {});
    expect(job).toMatchObject({
      status: 'completed',
      result: { CapEff: '0000000000000000', CapBnd: '0000000000000000', NoNewPrivs: '1' },
    });
    expect((job.result as { Uid: string }).Uid.split('\t')[0]).toBe('65534');
    expect((job.result as { Gid: string }).Gid.split('\t')[0]).toBe('65534');
  });

  it('links swapped into /output while the host copies it out are never followed (repeated for the race)', async () => {
    const fid = await deploy('swap', SWAP_PY);
    const secrets = await Promise.all(['/etc/shadow', '/etc/passwd'].map((p) => readFile(p, 'utf8').catch(() => '')));
    let collected = 0;
    for (let i = 0; i < 10; i++) {
      const job = await call(fid, {});
      expect(job.status, JSON.stringify(job.error)).toBe('completed');
      for (const url of job.output_files) {
        collected++;
        const key = decodeURIComponent(new URL(url).pathname.replace(/^\/files\//, ''));
        const body = await readFile(join(dir, 'storage', 'objects', ...key.split('/')), 'utf8');
        // Threads of earlier calls still swap too, so a file may be caught empty; never what a link pointed at.
        expect(['plain', '']).toContain(body);
        for (const secret of secrets.filter(Boolean)) expect(body).not.toBe(secret);
      }
    }
    // The file was there as a plain file often enough to be copied (a link is skipped, never followed).
    expect(collected).toBeGreaterThan(0);
  });
});

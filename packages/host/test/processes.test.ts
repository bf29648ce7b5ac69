import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NanoGridClient } from '@nanogrid/client';
import { memoryQueue, memoryResults } from '@nanogrid/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRedis, redisTestEnv, startRedisServer } from '../../redis/test/redis-server.js';
import { validateConfig } from '../src/index.js';
import { MAX_PROCESSES_PER_CORE, processCount, processCountProblem, sharedStoreProblem } from '../src/processes.js';
import { type HostProcess, buildCli, distOf, repo, startHostProcess } from './host-process.js';

const PY = 'import os\ndef handler(event, context):\n    return {"pid": os.getpid()}\n';
const fakePlugin = (name: string) => ({ name }) as never;

describe('processes: which configs can run in several processes', () => {
  it('refuses the embedded store, in-memory backends and per-process rate limits, with what to do', () => {
    expect(sharedStoreProblem({}, 'all', 2)).toMatch(/redisQueue and redisResults/);
    expect(sharedStoreProblem({ queue: memoryQueue(), results: memoryResults() }, 'all', 2)).toMatch(/in-memory/);
    const redisLike = { queue: fakePlugin('redis-queue'), results: fakePlugin('redis-results') };
    expect(sharedStoreProblem(redisLike, 'all', 2)).toMatch(/rateLimitStore/);
    expect(sharedStoreProblem({ ...redisLike, http: { rateLimit: false } }, 'all', 2)).toBeUndefined();
    expect(
      sharedStoreProblem({ ...redisLike, http: { rateLimitStore: fakePlugin('redis-rate-limit') } }, 'all', 2),
    ).toBeUndefined();
    // A worker serves no API: no rate limit to share.
    expect(sharedStoreProblem(redisLike, 'worker', 2)).toBeUndefined();
  });

  it('refuses more than a few processes per core (a typo such as 1000 would fork a thousand hosts), saying the limit', () => {
    expect(processCountProblem(2, 1)).toBeUndefined();
    expect(processCountProblem(MAX_PROCESSES_PER_CORE * 2, 2)).toBeUndefined();
    expect(processCountProblem(MAX_PROCESSES_PER_CORE * 2 + 1, 2)).toMatch(
      /more than 4 per core .*has 2, so at most 8/,
    );
    expect(processCountProblem(1000, 16)).toMatch(/processes: 1000 .* at most 64.*--processes auto/);
  });

  it('counts "auto" as the cores, and the config accepts only "auto" or 1..1024', () => {
    expect(processCount('auto')).toBeGreaterThanOrEqual(1);
    expect(processCount(undefined)).toBe(1);
    expect(validateConfig({ processes: 'auto' }).processes).toBe('auto');
    for (const bad of [0, 1.5, 'two', -1, 5000])
      expect(() => validateConfig({ processes: bad })).toThrow(
        /"processes" must be "auto" .* or an integer in 1..1024/,
      );
  });
});

const run = promisify(execFile);
const cli = join(repo, 'packages/host/dist/cli.js');

describe('nanogrid start --processes: refused cases', () => {
  beforeAll(() => buildCli(), 120_000);

  it('refuses several processes on the embedded store (a non-zero exit, the message says why)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nanogrid-processes-'));
    try {
      const err = await run(process.execPath, [cli, 'start', '--port', '0', '--processes', '2'], { cwd: dir }).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(err?.stderr).toMatch(/CONFIG_INVALID|processes: 2 needs a queue and job records every process shares/);
      expect(err?.stderr).toMatch(/redisQueue/);
      expect(err?.code).not.toBe(0);
      const usage = await run(process.execPath, [cli, 'start', '--processes', 'many'], { cwd: dir }).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(usage?.stderr).toMatch(/--processes must be "auto" or an integer/);
      // Refused before any process is forked (it used to start forking 1000 hosts and print nothing).
      const tooMany = await run(process.execPath, [cli, 'start', '--port', '0', '--processes', '1000'], {
        cwd: dir,
        timeout: 30_000,
      }).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(tooMany?.stderr).toMatch(/CONFIG_INVALID: processes: 1000 is more than 4 per core/);
      expect(tooMany?.code).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

const env = redisTestEnv();

describe.skipIf(!env.ready)('nanogrid start --processes 2 on Redis (real processes)', () => {
  let redis: LocalRedis;
  let dir: string;
  let host: HostProcess;
  let client: NanoGridClient;

  beforeAll(async () => {
    await buildCli(['redis']);
    redis = await startRedisServer();
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-processes-'));
    const prefix = `proc-${randomBytes(4).toString('hex')}:`;
    await writeFile(
      join(dir, 'nanogrid.config.mjs'),
      `import { redisQueue, redisResults } from ${distOf('redis')};
export default {
  hostname: '127.0.0.1',
  sandbox: 'process',
  queue: redisQueue({ connection: ${JSON.stringify(redis.url)}, keyPrefix: '${prefix}' }),
  results: redisResults({ connection: ${JSON.stringify(redis.url)}, keyPrefix: '${prefix}' }),
  worker: { concurrency: 2, pollWaitMs: 1000 },
  http: { rateLimit: false },
};
`,
    );
    host = await startHostProcess(dir, { args: ['--processes', '2'] });
    client = new NanoGridClient({ url: host.url });
  }, 180_000);

  afterAll(async () => {
    await host?.stop('SIGKILL');
    await redis?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Host processes that ran the jobs of `n` sync calls, each on a new connection. */
  async function workersOf(fid: string, n: number): Promise<Set<string>> {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${host.url}/run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', connection: 'close' },
        body: JSON.stringify({ function_id: fid, payload: {} }),
      });
      const job = (await res.json()) as { status: string; worker?: string };
      expect(job.status).toBe('completed');
      if (job.worker) seen.add(job.worker);
    }
    return seen;
  }

  it('serves one port from two processes: jobs run in both, one dying is replaced, SIGTERM stops all', async () => {
    const fn = await client.deploy({
      name: 'pids',
      runtime: 'python3.11',
      code: PY,
      fileName: 'fn.py',
      handler: 'fn.handler',
    });
    const before = await workersOf(fn.function_id, 12);
    expect(before.size).toBe(2);
    // Kill one host process as a crash would: the primary starts another, and calls keep completing.
    const victim = Number([...before][0]?.split(':').at(-1));
    process.kill(victim, 'SIGKILL');
    let after = new Set<string>();
    for (let tries = 0; tries < 40 && ![...after].some((w) => !before.has(w)); tries++) {
      await new Promise((r) => setTimeout(r, 250));
      after = await workersOf(fn.function_id, 4).catch(() => new Set<string>());
    }
    expect([...after].some((w) => !before.has(w))).toBe(true);
    const pids = [...before, ...after].map((w) => Number(w.split(':').at(-1)));
    expect(await host.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    // No host process outlives the primary.
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  }, 120_000);
});

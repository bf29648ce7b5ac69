import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Job, type LogStreamEvent, NanoGridClient } from '@nanogrid/client';
import { eventually } from '@nanogrid/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRedis, redisTestEnv, startRedisServer, uniquePrefix } from '../../redis/test/redis-server.js';
import { type HostProcess, buildCli, distOf, startHostProcess } from './host-process.js';
import { pidsWith } from './helpers.js';

/** Prints numbered lines a few at a time, with pauses: a job to watch from another controller. */
const COUNTER_PY = `import time

def handler(event, context):
    for i in range(event["n"]):
        print("line %d" % i)
        if i % 5 == 4:
            time.sleep(0.2)
    return {"counted": event["n"]}
`;

/** Prints, then sleeps in short steps forever: a running job to cancel. */
const SLEEPER_PY = `import time

def handler(event, context):
    print("sleeping", flush=True)
    while True:
        time.sleep(0.05)
`;

async function collect(
  it: AsyncIterable<LogStreamEvent>,
  onEvent: (e: LogStreamEvent) => void = () => undefined,
): Promise<{ events: LogStreamEvent[]; at: number[] }> {
  const events: LogStreamEvent[] = [];
  const at: number[] = [];
  for await (const e of it) {
    events.push(e);
    at.push(performance.now());
    onEvent(e);
  }
  return { events, at };
}

const env = redisTestEnv();

/**
 * Two controllers and one worker, each its own `nanogrid start` process, on a
 * Redis queue and Redis results (filesystem storage shared on this machine):
 * a follower on controller A sees what the worker prints for a job submitted
 * through controller B, and a cancel through B kills the run in the worker.
 */
describe.skipIf(!env.ready)('live logs and cancel across processes (Redis)', () => {
  let redis: LocalRedis;
  let dir: string;
  const hosts: HostProcess[] = [];
  let a: NanoGridClient;
  let b: NanoGridClient;
  const token = `live-token-${Math.random().toString(36).slice(2)}`;

  beforeAll(async () => {
    [redis] = await Promise.all([startRedisServer(), buildCli(['redis'])]);
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-live-redis-'));
    const prefix = uniquePrefix('live');
    await writeFile(
      join(dir, 'nanogrid.config.mjs'),
      `import { redisQueue, redisResults } from ${distOf('redis')};
import { fsStorage } from ${distOf('core')};

export default {
  hostname: '127.0.0.1',
  storage: fsStorage({ dir: ${JSON.stringify(join(dir, 'storage'))}, publicUrl: 'http://files.test' }),
  queue: redisQueue({ connection: ${JSON.stringify(redis.url)}, keyPrefix: '${prefix}:q:' }),
  results: redisResults({ connection: ${JSON.stringify(redis.url)}, keyPrefix: '${prefix}:r:' }),
  sandbox: 'process',
  worker: { concurrency: 2, pollWaitMs: 500 },
};
`,
    );
    const [ca, cb, w] = await Promise.all([
      startHostProcess(dir, { args: ['--role', 'controller'] }),
      startHostProcess(dir, { args: ['--role', 'controller'] }),
      startHostProcess(dir, { args: ['--role', 'worker'] }),
    ]);
    hosts.push(ca, cb, w);
    a = new NanoGridClient({ url: ca.url });
    b = new NanoGridClient({ url: cb.url });
    await b.deploy({ name: 'counter', runtime: 'python3.11', code: COUNTER_PY, fileName: 'main.py', timeout: 60 });
    await b.deploy({
      name: 'sleeper',
      runtime: 'python3.11',
      code: SLEEPER_PY,
      fileName: 'main.py',
      timeout: 120,
      env: { TOKEN: token },
    });
  }, 120_000);
  afterAll(async () => {
    for (const h of hosts) await h.stop('SIGTERM').catch(() => undefined);
    await redis?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a follower on controller A sees the lines of a job submitted on B and run by the worker, in order, then end', async () => {
    const n = 40;
    const job = await b.submit('counter', { n });
    const watched: Job[] = [];
    const ac = new AbortController();
    const watching = (async () => {
      for await (const j of a.followJobs({ function: 'counter' }, { signal: ac.signal })) watched.push(j);
    })().catch(() => undefined);
    const { events, at } = await collect(a.followLogs(job.job_id));
    const lines = events.flatMap((e) => (e.type === 'log' ? [e.line] : []));
    expect(lines).toEqual(Array.from({ length: n }, (_, i) => `line ${i}`));
    expect(events.at(-1)).toEqual({ type: 'end', job_id: job.job_id, status: 'completed' });
    expect((at.at(-1) ?? 0) - (at[0] ?? 0), 'lines came while the job ran').toBeGreaterThan(500);
    expect((await a.status(job.job_id)).result).toEqual({ counted: n });
    // A late follower (the job is final) gets the same lines from Redis, then end.
    const late = await collect(b.followLogs(job.job_id));
    expect(late.events.flatMap((e) => (e.type === 'log' ? [e.line] : []))).toEqual(lines);
    // Job events of a job submitted on B reach a watcher on A (it may have connected after `pending`).
    const again = await b.submit('counter', { n: 1 });
    await eventually(
      async () =>
        expect(watched.filter((j) => j.job_id === again.job_id).map((j) => j.status)).toEqual([
          'pending',
          'running',
          'completed',
        ]),
      20_000,
    );
    ac.abort();
    await watching;
  }, 60_000);

  it('cancel through B kills the run in the worker process; a follower on A ends with cancelled', async () => {
    const job = await a.submit('sleeper', {});
    let printed!: () => void;
    const sleeping = new Promise<void>((resolve) => (printed = resolve));
    const following = collect(a.followLogs(job.job_id), (e) => e.type === 'log' && e.line === 'sleeping' && printed());
    await sleeping; // the follower on A heard the worker's line while the job runs
    expect((await b.status(job.job_id)).status).toBe('running');
    await eventually(async () => expect(await pidsWith(token)).not.toEqual([]), 10_000);
    expect((await b.cancel(job.job_id)).status).toBe('cancelled');
    const { events } = await following;
    expect(events.at(-1)).toMatchObject({ type: 'end', status: 'cancelled', error: { code: 'CANCELLED' } });
    await eventually(async () => expect(await pidsWith(token)).toEqual([]), 10_000);
    expect((await a.status(job.job_id)).status).toBe('cancelled');
    // The worker goes on serving.
    expect((await a.run('counter', { n: 2 })).status).toBe('completed');
  }, 60_000);
});

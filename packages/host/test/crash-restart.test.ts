import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadForm } from './helpers.js';
import { type HostProcess, buildCli, startHostProcess } from './host-process.js';

/** Sleeps, then tells the test's counter it ran to completion (network 'internet' shares the loopback). */
const COUNTED_PY = `import time, urllib.request

def handler(event, context):
    time.sleep(event["sleep"])
    urllib.request.urlopen(event["counter"] + "/ran/" + str(event["i"]), timeout=10).read()
    return {"i": event["i"]}
`;

const JOBS = 300;
const CONCURRENCY = 4;

interface Job {
  i: number;
  job_id: string;
}

async function status(url: string, jobId: string): Promise<{ status: string; result?: unknown; attempts?: number }> {
  const res = await fetch(`${url}/status/${jobId}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { status: string; result?: unknown; attempts?: number };
}

describe('an all-in-one host SIGKILLed with hundreds of jobs queued and running', () => {
  let cwd: string;
  let counter: Server;
  let counterUrl: string;
  /** Completed runs per job index, and the phase they arrived in. */
  const runs = new Map<number, string[]>();
  let phase = 'before';
  const hosts: HostProcess[] = [];

  beforeAll(async () => {
    await buildCli();
    cwd = await mkdtemp(join(tmpdir(), 'nanogrid-crash-'));
    await writeFile(
      join(cwd, 'nanogrid.config.json'),
      JSON.stringify({
        sandbox: 'process',
        hostname: '127.0.0.1',
        worker: { concurrency: CONCURRENCY, pollWaitMs: 1000 },
        http: { rateLimit: false },
      }),
    );
    counter = createServer((req, res) => {
      const m = /^\/ran\/(\d+)$/.exec(req.url ?? '');
      if (m) {
        const i = Number(m[1]);
        runs.set(i, [...(runs.get(i) ?? []), phase]);
      }
      res.end('ok');
    });
    await new Promise<void>((r) => counter.listen(0, '127.0.0.1', r));
    counterUrl = `http://127.0.0.1:${(counter.address() as AddressInfo).port}`;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.stop('SIGKILL')));
    counter?.close();
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });

  it('completes every job after a restart on the same directory; only jobs that were mid-run run twice', async () => {
    const first = await startHostProcess(cwd);
    hosts.push(first);
    const up = await fetch(`${first.url}/upload`, {
      method: 'POST',
      body: uploadForm({
        file: { name: 'counted.py', content: COUNTED_PY },
        function_name: 'counted',
        runtime: 'python3',
        network: 'internet',
      }),
    });
    expect(up.status).toBe(201);
    const { function_id } = (await up.json()) as { function_id: string };

    const submit = async (i: number): Promise<Job> => {
      const res = await fetch(`${first.url}/run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'X-Async': 'true' },
        body: JSON.stringify({ function_id, payload: { i, sleep: 0.1, counter: counterUrl } }),
      });
      expect(res.status).toBe(202);
      return { i, job_id: ((await res.json()) as { job_id: string }).job_id };
    };
    const jobs: Job[] = [];
    for (let i = 0; i < JOBS; i += 50)
      jobs.push(...(await Promise.all(Array.from({ length: 50 }, (_, k) => submit(i + k)))));

    // Let a share finish, then note which records are final and kill the host mid-stream.
    await expect.poll(() => runs.size, { timeout: 60_000, interval: 50 }).toBeGreaterThanOrEqual(JOBS / 4);
    const finishedBefore = new Set<number>();
    const seen = await Promise.all(jobs.map((j) => status(first.url, j.job_id)));
    for (const j of jobs) if (seen[j.i]!.status === 'completed') finishedBefore.add(j.i);
    const killed = await first.stop('SIGKILL');
    phase = 'after';
    expect(killed.signal).toBe('SIGKILL');
    const ranBefore = new Set(runs.keys());
    expect(finishedBefore.size).toBeGreaterThan(0);
    expect(finishedBefore.size).toBeLessThan(JOBS); // the kill came with jobs still queued

    const second = await startHostProcess(cwd);
    hosts.push(second);
    // Records finished before the kill are read back from the file at once.
    for (const i of finishedBefore) {
      expect(await status(second.url, jobs[i]!.job_id)).toMatchObject({ status: 'completed', result: { i } });
    }
    const deadline = Date.now() + 120_000;
    const pending = new Set(jobs.map((j) => j.i));
    while (pending.size > 0 && Date.now() < deadline) {
      for (const i of [...pending]) {
        const s = await status(second.url, jobs[i]!.job_id);
        if (s.status === 'completed' || s.status === 'failed') {
          expect(s).toMatchObject({ status: 'completed', result: { i } });
          pending.delete(i);
        }
      }
      if (pending.size > 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect([...pending]).toEqual([]);

    // Every job ran to completion at least once; none finished before the kill ran again.
    const twice = [...runs].filter(([, phases]) => phases.length > 1).map(([i]) => i);
    for (let i = 0; i < JOBS; i += 1) expect(runs.get(i)?.length ?? 0).toBeGreaterThanOrEqual(1);
    for (const i of finishedBefore) expect(runs.get(i)).toEqual(['before']);
    // A second run only for a job that was mid-run at the kill: it had run, its result was not yet recorded.
    for (const i of twice) {
      expect(ranBefore.has(i)).toBe(true);
      expect(runs.get(i)).toEqual(['before', 'after']);
    }
    expect(twice.length).toBeLessThanOrEqual(CONCURRENCY);
    console.log(
      `crash drill: ${JOBS} jobs, ${finishedBefore.size} final before the SIGKILL, ${ranBefore.size} had run, ${twice.length} ran twice (mid-run)`,
    );
    await second.stop('SIGTERM');
  }, 240_000);
});

// The embedded stores alone: one job's whole life (create, send, receive, running,
// publish, ack) repeated, on the in-memory store and on SQLite, CPU time per job.
// `node bench/stores.mjs [jobs]` — no sandbox, no HTTP: what the store adds to a call.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryQueue, memoryResults } from '@nanogrid/core';
import { sqliteBackend } from '@nanogrid/sqlite';

const jobs = Number(process.argv[2] ?? 20_000);
const batch = 64; // jobs in flight at once, as with 64 clients

async function lifecycle(queue, results) {
  let next = 0;
  const one = async () => {
    const i = next++;
    const now = new Date().toISOString();
    const job_id = `job-${i}`;
    await results.create({
      job_id,
      function_id: 'f',
      status: 'pending',
      created_at: now,
      updated_at: now,
      output_files: [],
    });
    await queue.send({ job_id, function_id: 'f', payload: { i } });
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let done = 0;
  while (done < jobs) {
    const n = Math.min(batch, jobs - done);
    await Promise.all(Array.from({ length: n }, one));
    let got = 0;
    while (got < n) {
      const ds = await queue.receive({ max: 8, waitMs: 1000 });
      got += ds.length;
      await Promise.all(
        ds.map(async (d) => {
          await results.update(d.job.job_id, { status: 'running', attempts: d.attempt, worker: 'w' });
          const rec = await results.get(d.job.job_id);
          await results.publish({
            ...rec,
            status: 'completed',
            result: { ok: true },
            finished_at: new Date().toISOString(),
          });
          await d.ack();
        }),
      );
    }
    done += n;
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  return { usPerJob: (cpu.user + cpu.system) / jobs, perSec: jobs / (wall / 1000) };
}

const dir = await mkdtemp(join(tmpdir(), 'nanogrid-stores-'));
try {
  const rows = [];
  const mem = await lifecycle(memoryQueue(), memoryResults());
  rows.push(['memory', mem]);
  for (const synchronous of (process.env.SYNC ?? 'normal,full').split(',')) {
    const b = sqliteBackend({ file: join(dir, `${synchronous}.db`), synchronous });
    rows.push([`sqlite (synchronous ${synchronous})`, await lifecycle(b.queue, b.results)]);
    await b.queue.close();
    await b.results.close();
    await b.rateLimitStore.close();
  }
  console.log(`store lifecycle, ${jobs} jobs, ${batch} in flight`);
  console.log(`${'store'.padEnd(28)} ${'CPU µs/job'.padStart(11)} ${'jobs/s'.padStart(9)}`);
  for (const [name, r] of rows)
    console.log(`${name.padEnd(28)} ${r.usPerJob.toFixed(1).padStart(11)} ${r.perSec.toFixed(0).padStart(9)}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}

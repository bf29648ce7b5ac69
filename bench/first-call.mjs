// First call of a function no worker has seen, on a prewarmed Docker pool, against a bare `docker run`
// measured in the same run. `node bench/first-call.mjs [n]` (default 10 per row). MEMORY_MB=128: functions with a
// memory limit other than the spares' (512 MB), which the claim changes; GAP=ms between a deploy and its call.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NanoGridClient } from '@nanogrid/client';
import { silentLogger } from '@nanogrid/core';
import { startHost } from '@nanogrid/host';
import { startCallClient } from './call-client.mjs';
import { percentile, printTable, sample } from './stats.mjs';

const n = Number(process.argv[2] ?? 10);
const run = promisify(execFile);
const PY = 'def handler(event, context):\n    return {"ok": True}\n';
const JS = 'export async function handler(event) { return { ok: true }; }\n';

const rows = [];
rows.push({
  name: 'floor: bare docker run (true)',
  ...(await sample(n, () => run('docker', ['run', '--rm', '--network', 'none', 'nanogrid/python:3', 'true']), 1)),
});
const dataDir = await mkdtemp(join(tmpdir(), 'nanogrid-bench-'));
const host = await startHost({
  config: {
    dataDir,
    sandbox: 'docker',
    http: { rateLimit: false },
    embedded: { store: 'memory' },
    warm: { enabled: true, prewarm: { python: 2, node: 2 } },
  },
  port: 0,
  hostname: '127.0.0.1',
  handleSignals: false,
  logger: silentLogger,
  cwd: dataDir,
});
const api = new NanoGridClient({ url: host.url });
// Calls are timed by the warm rows' keep-alive node:http client in its own process (the host runs in this one).
const client = await startCallClient(host.url);
/** `count` warm calls after 2 untimed ones: { n, median, p95 } of the client's wall times. */
async function sampleCalls(count, fid) {
  const ms = [];
  for (let i = 0; i < count + 2; i++) {
    const r = await client.call(fid);
    if (i >= 2) ms.push(r.ms);
  }
  ms.sort((a, b) => a - b);
  return { n: count, median: percentile(ms, 50), p95: percentile(ms, 95) };
}
try {
  for (const [lang, runtime, file, src, comment] of [
    ['python', 'python3.11', 'fn.py', PY, '#'],
    ['node', 'nodejs20.x', 'fn.mjs', JS, '//'],
  ]) {
    const times = [];
    let warm;
    for (let i = -1; i < n; i++) {
      const fn = await api.deploy({
        name: `first-${lang}-${i + 1}`,
        runtime,
        code: `${src}${comment} ${i}\n`,
        fileName: file,
        handler: 'fn.handler',
        ...(process.env.MEMORY_MB ? { memoryMb: Number(process.env.MEMORY_MB) } : {}),
      });
      await new Promise((r) => setTimeout(r, Number(process.env.GAP ?? 600))); // the refill done: steady state, not a burst
      const { ms, job } = await client.call(fn.function_id);
      if (job.status !== 'completed' || job.start !== 'prewarmed') throw new Error(JSON.stringify(job));
      if (i >= 0) times.push(ms); // the first is a warm-up
      if (i === n - 1) warm = await sampleCalls(n * 5, fn.function_id);
    }
    times.sort((a, b) => a - b);
    rows.push({
      name: `first call of a never-seen ${lang} function`,
      n,
      median: times[n >> 1],
      p95: times[Math.ceil(n * 0.95) - 1],
    });
    rows.push({ name: `then warm calls of it`, ...warm });
  }
} finally {
  await client.close();
  await host.close();
  await rm(dataDir, { recursive: true, force: true });
}
printTable('First call of a function no worker has seen (Docker, prewarmed)', rows, 'floor: bare docker run (true)');

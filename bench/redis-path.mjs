// The Redis path's cost per call, this checkout against another one in the same run:
//   node bench/redis-path.mjs [--base=/path/to/checkout] [--this=checkout (default: this one)] [--n=3000] [--rounds=3] [--clients=64]
//                             [--sandbox=process|docker] [--monitor=500]
// One redis-server for both. Per round, each checkout in turn (base first, alternating) runs `nanogrid start
// --processes 1` on Redis queue + results (bench/processes.mjs), and bench/load.mjs sends `n` sync calls from
// `clients` keep-alive clients. Reported per call, medians of the rounds: the host processes' CPU and
// redis-server's (from /proc), the commands Redis ran (INFO commandstats, script-inner ones included), its reads
// and writes (syscalls, i.e. wake-ups), and the throughput. `--monitor=N` (0: off) then sends N more calls under
// MONITOR once per checkout, and splits the commands into round trips (sent by a client) and script-inner ones.
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { NanoGridClient } from '@nanogrid/client';
import { procCpuUs } from './cpu-stages.mjs';
import { startProcessesHost } from './processes.mjs';

const run = promisify(execFile);
const arg = (name, dflt) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const here = arg('this', new URL('..', import.meta.url).pathname);
const base = arg('base', undefined);
const n = Number(arg('n', '3000'));
const rounds = Number(arg('rounds', '3'));
const clients = Number(arg('clients', '64'));
const sandbox = arg('sandbox', 'process');
const monitorN = Number(arg('monitor', '500'));
const PY = 'def handler(event, context):\n    return {"ok": True}\n';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const port = await freePort();
const redis = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise((resolve, reject) => {
  redis.once('error', reject);
  redis.stdout.on('data', (c) => c.toString().includes('Ready to accept') && resolve());
});
const redisUrl = `redis://127.0.0.1:${port}`;
const cli = async (...args) => (await run('redis-cli', ['-p', String(port), ...args])).stdout;

/** INFO commandstats + stats: total commands, per command, reads and writes processed. */
async function redisStats() {
  const text = await cli('info', 'all');
  const perCommand = {};
  const usec = {};
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    perCommand[m[1]] = Number(m[2]);
    usec[m[1]] = Number(m[3]);
  }
  const num = (k) => Number(new RegExp(`^${k}:(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { perCommand, usec, reads: num('total_reads_processed'), writes: num('total_writes_processed') };
}

async function load(url, fid, total, c) {
  const { stdout } = await run(
    'node',
    [new URL('./load.mjs', import.meta.url).pathname, url, fid, String(total), String(c)],
    {
      maxBuffer: 1 << 20,
    },
  );
  const r = JSON.parse(stdout.trim().split('\n').at(-1));
  if (r.failed > 0) throw new Error(`load: ${r.failed} of ${total} failed`);
  return r;
}

async function deploy(url, name) {
  const fn = await new NanoGridClient({ url }).deploy({
    name,
    runtime: 'python3.11',
    code: PY,
    fileName: 'fn.py',
    handler: 'fn.handler',
  });
  return fn.function_id;
}

/** MONITOR while `total` calls run: commands per call sent by clients (round trips) and run inside scripts. */
async function monitor(url, fid, total) {
  const mon = spawn('redis-cli', ['-p', String(port), 'monitor'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  mon.stdout.on('data', (c) => {
    text += c.toString();
  });
  await new Promise((r) => mon.stdout.once('data', r)); // "OK": MONITOR is on
  await load(url, fid, total, clients);
  mon.kill();
  const byCommand = {};
  let trips = 0;
  let inner = 0;
  for (const line of text.split('\n')) {
    const m = /^\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]+)"/.exec(line);
    if (!m) continue;
    const where = m[1] === 'lua' ? 'lua' : 'client';
    if (where === 'lua') inner++;
    else trips++;
    const key = `${m[2].toUpperCase()} (${where})`;
    byCommand[key] = (byCommand[key] ?? 0) + 1;
  }
  return { trips: trips / total, inner: inner / total, byCommand };
}

const checkouts = base
  ? [
      ['base', base],
      ['this', here],
    ]
  : [['this', here]];
const seen = Object.fromEntries(checkouts.map(([k]) => [k, { host: [], redis: [], cmds: [], rw: [], perSec: [] }]));
const cmdMix = {};
const monitored = {};
try {
  for (let r = 0; r < rounds; r++) {
    for (const [label, repo] of r % 2 === 0 ? checkouts : [...checkouts].reverse()) {
      const host = await startProcessesHost({ processes: 1, redisUrl, sandbox, repo });
      try {
        const fid = await deploy(host.url, `rp-${label}-${r}`);
        await load(host.url, fid, 300, clients); // warm instances, caches, scripts
        await cli('config', 'resetstat');
        const [h0, r0, s0] = [await host.cpuUs(), await procCpuUs([redis.pid]), await redisStats()];
        const got = await load(host.url, fid, n, clients);
        const [h1, r1, s1] = [await host.cpuUs(), await procCpuUs([redis.pid]), await redisStats()];
        const s = seen[label];
        s.host.push((h1 - h0) / n);
        s.redis.push((r1 - r0) / n);
        const total = Object.entries(s1.perCommand).reduce((a, [k, v]) => a + (k === 'info' ? 0 : v), 0);
        s.cmds.push(total / n);
        s.rw.push((s1.reads + s1.writes - s0.reads - s0.writes) / n);
        s.perSec.push(got.perSec);
        if (r === 0) cmdMix[label] = { calls: s1.perCommand, usec: s1.usec };
        if (monitorN > 0 && !monitored[label]) monitored[label] = await monitor(host.url, fid, monitorN);
        console.error(
          `round ${r + 1} ${label}: host ${s.host.at(-1).toFixed(0)} µs, redis ${s.redis.at(-1).toFixed(0)} µs, ` +
            `${s.cmds.at(-1).toFixed(1)} commands, ${got.perSec.toFixed(0)}/s`,
        );
      } finally {
        await host.stop();
      }
    }
  }
} finally {
  redis.kill();
}

const load1 = (await import('node:os')).loadavg()[0];
console.log(
  `\nRedis path, ${sandbox} sandbox, ${clients} clients, n=${n}, ${rounds} rounds (load average ${load1.toFixed(1)})`,
);
console.log('checkout  host CPU µs/call  redis CPU µs/call  commands/call  redis reads+writes/call  calls/s');
for (const [label] of checkouts) {
  const s = seen[label];
  console.log(
    `${label.padEnd(8)}  ${median(s.host).toFixed(0).padStart(15)}  ${median(s.redis).toFixed(0).padStart(17)}  ` +
      `${median(s.cmds).toFixed(1).padStart(13)}  ${median(s.rw).toFixed(1).padStart(23)}  ${median(s.perSec).toFixed(0).padStart(7)}`,
  );
}
for (const [label] of checkouts) {
  const { calls = {}, usec = {} } = cmdMix[label] ?? {};
  const mix = Object.entries(calls)
    .filter(([k]) => k !== 'info' && !k.startsWith('config'))
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${(v / n).toFixed(2)} (${(usec[k] / n).toFixed(1)} µs)`)
    .join(', ');
  console.log(`${label} commands per call (round 1, script-inner included; Redis's own µs per call): ${mix}`);
  const m = monitored[label];
  if (m) {
    const top = Object.entries(m.byCommand)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${(v / monitorN).toFixed(2)}`)
      .join(', ');
    console.log(
      `${label} MONITOR: ${m.trips.toFixed(2)} round trips + ${m.inner.toFixed(2)} script-inner per call: ${top}`,
    );
  }
}

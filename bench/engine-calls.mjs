// The engine's CPU per sync call with no HTTP, against a baseline checkout:
//   node bench/engine-calls.mjs [<baseline checkout>] [--store=memory|sqlite] [--n=20000] [--rounds=5] [--clients=64]
// A whole host (startHost) whose sandbox answers every warm call at once from memory (bench/instant-sandbox.mjs);
// `clients` loops in its own process call JobService.submit(…, { sync: true }) and wait() as POST /run does: job
// records, the in-process start, run slots, executor, cancel watch, statistics, metrics. No HTTP and no load
// generator: the steadiest number of the host's own work per call on a shared machine. Each round runs this checkout
// and the baseline (when given) in fresh processes, alternating; prints µs of CPU per call, medians of the rounds.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBenchHost } from './bench-host.mjs';

const arg = (name, dflt) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const n = Number(arg('n', '20000'));
const rounds = Number(arg('rounds', '5'));
const clients = Number(arg('clients', '64'));
const store = arg('store', 'memory');
const child = arg('child', undefined);

/** One measurement in this process, on the checkout at `dir`: µs of CPU per call and calls per second. */
async function measure(dir) {
  const { startHost } = await import(`${dir}/packages/host/dist/index.js`);
  const { silentLogger } = await import(`${dir}/packages/core/dist/index.js`);
  const { NanoGridClient } = await import(`${dir}/packages/client/dist/index.js`);
  const { instantSandbox } = await import(`${dir}/bench/instant-sandbox.mjs`);
  const { host, close } = await startBenchHost({
    startHost,
    logger: silentLogger,
    prefix: 'nanogrid-engine-calls',
    config: {
      sandbox: instantSandbox('engine-calls'),
      http: { rateLimit: false },
      worker: { concurrency: 8, pollWaitMs: 1000 },
      warm: { enabled: true },
      embedded: { store },
    },
  });

  try {
    const fn = await new NanoGridClient({ url: host.url }).deploy({
      name: 'engine-calls',
      runtime: 'python3.11',
      code: 'def handler(event, context):\n    return {"ok": True}\n',
      fileName: 'fn.py',
      handler: 'fn.handler',
    });
    const jobs = host.nanogrid.jobs;
    const batch = async (total) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (next < total) {
            next++;
            const { record } = await jobs.submit(fn.function_id, {}, 'function_id', { sync: true });
            const final = await jobs.wait(record.job_id, { timeoutMs: 30_000 });
            if (final.status !== 'completed') throw new Error(`a call ended ${final.status}`);
          }
        }),
      );
    };
    await batch(3000); // warm-up: JIT on both sides, not counted
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await batch(n);
    const c = process.cpuUsage(c0);
    return { us: (c.user + c.system) / n, perSec: n / ((performance.now() - t0) / 1000) };
  } finally {
    await close();
  }
}

if (child) {
  console.log(JSON.stringify(await measure(child)));
  process.exit(0);
}
const self = resolve(fileURLToPath(new URL('..', import.meta.url)));
const baseline = process.argv.slice(2).find((a) => !a.startsWith('--'));
const sides = [['this checkout', self], ...(baseline ? [['baseline', resolve(baseline)]] : [])];
const rows = new Map(sides.map(([name]) => [name, []]));
for (let r = 0; r < rounds; r++) {
  for (const [name, dir] of r % 2 === 0 ? sides : [...sides].reverse()) {
    const out = execFileSync(
      'node',
      [fileURLToPath(import.meta.url), `--child=${dir}`, `--n=${n}`, `--clients=${clients}`, `--store=${store}`],
      { encoding: 'utf8' },
    );
    rows.get(name).push(JSON.parse(out.trim().split('\n').at(-1)));
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
console.table(
  [...rows].map(([name, v]) => ({
    checkout: name,
    store,
    'CPU µs/call': median(v.map((x) => x.us)).toFixed(1),
    'calls/s': median(v.map((x) => x.perSec)).toFixed(0),
    rounds: v.map((x) => x.us.toFixed(0)).join(' '),
  })),
);
process.exit(0);

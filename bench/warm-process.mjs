// Warm path of the process sandbox (bubblewrap when installed), this checkout against another one
// (the baseline), measured in the same run, alternating rounds so load on the machine hits both alike:
//   node bench/warm-process.mjs <baseline checkout, built> [rounds=3] [n=300]
// Each round starts a host of each checkout in its own process (bench/warm-process-child.mjs) and
// times n sync invocations over HTTP of a warm Python and a warm Node function.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const [baseline, roundsArg, nArg] = process.argv.slice(2);
if (!baseline) throw new Error('usage: node bench/warm-process.mjs <baseline checkout> [rounds] [n]');
const rounds = Number(roundsArg ?? 3);
const n = Number(nArg ?? 300);
const checkouts = { baseline: resolve(baseline), 'this checkout': resolve(new URL('..', import.meta.url).pathname) };
const child = new URL('./warm-process-child.mjs', import.meta.url).pathname;

const samples = {};
for (let r = 0; r < rounds; r++) {
  for (const [label, root] of Object.entries(checkouts)) {
    const { stdout } = await run('node', [child, root, String(n)], { maxBuffer: 1 << 20 });
    for (const [runtime, ms] of Object.entries(JSON.parse(stdout.trim().split('\n').at(-1)))) {
      (samples[`${runtime}, ${label}`] ??= []).push(...ms);
    }
  }
}
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const rows = [];
for (const runtime of ['python', 'node']) {
  const base = samples[`${runtime}, baseline`].sort((a, b) => a - b);
  for (const label of Object.keys(checkouts)) {
    const xs = samples[`${runtime}, ${label}`].sort((a, b) => a - b);
    const ratio = pct(xs, 50) / pct(base, 50);
    const vs = label === 'baseline' ? '(baseline)' : `${ratio.toFixed(3)}x the baseline median`;
    rows.push(
      `${`sync over HTTP, ${runtime}, process warm, ${label}`.padEnd(56)} ${String(xs.length).padStart(6)} ${pct(xs, 50).toFixed(2).padStart(10)} ${pct(xs, 95).toFixed(2).padStart(9)}  ${vs}`,
    );
  }
}
console.log(`\nWarm process sandbox, ${rounds} alternating rounds of ${n} calls`);
console.log(
  `${'scenario'.padEnd(56)} ${'n'.padStart(6)} ${'median ms'.padStart(10)} ${'p95 ms'.padStart(9)}  vs baseline`,
);
console.log('-'.repeat(100));
for (const r of rows) console.log(r);

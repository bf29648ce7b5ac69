// Cost of a call on the Python (or, with --node, the Node) warm server's round trip: this checkout against a
// baseline checkout (built), measured in the same run, alternating rounds:
//   node bench/warm-log-frames.mjs <baseline checkout> [rounds=3] [n=1000] [--node]
// Each round starts the warm server of each checkout directly (no sandbox, no HTTP: only the
// protocol) and times n calls of a handler that prints nothing, then one that prints 10 lines; it also reports the
// server's CPU (user + system, all its threads, from /proc) per call, median of the rounds.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const node = process.argv.includes('--node');
const [baseline, roundsArg, nArg] = process.argv.slice(2).filter((a) => a !== '--node');
if (!baseline) throw new Error('usage: node bench/warm-log-frames.mjs <baseline checkout> [rounds] [n]');
const rounds = Number(roundsArg ?? 3);
const n = Number(nArg ?? 1000);
const checkouts = { baseline: resolve(baseline), 'this checkout': resolve(new URL('..', import.meta.url).pathname) };

/** n timed round trips (after 50 untimed) of a warm server of `root` whose handler prints `prints` lines. */
async function round(root, prints) {
  const rt = node
    ? (await import(join(root, 'packages/runtime-node/dist/index.js'))).nodeRuntime()
    : (await import(join(root, 'packages/runtime-python/dist/index.js'))).pythonRuntime();
  const dir = mkdtempSync(join(tmpdir(), 'nanogrid-bench-frames-'));
  for (const [file, source] of Object.entries(rt.bootstrap)) writeFileSync(join(dir, file), source);
  const entryFile = node ? 'fn.mjs' : 'fn.py';
  if (node) {
    const body = prints ? `for (let i = 0; i < ${prints}; i++) console.log('line', i);` : '';
    writeFileSync(
      join(dir, entryFile),
      `export async function handler(event, context) { ${body} return { ok: true }; }\n`,
    );
  } else {
    const body = prints ? `    for i in range(${prints}):\n        print("line", i)\n` : '';
    writeFileSync(join(dir, entryFile), `def handler(event, context):\n${body}    return {"ok": True}\n`);
  }
  const cmd = rt.serve.command({ runtime: node ? 'nodejs20.x' : 'python3.11', handler: 'fn.handler', entryFile });
  // Its own temp and output directories, as a sandbox gives it: the server empties them per call.
  const [tmp, out] = [join(dir, 'tmp'), join(dir, 'output')];
  mkdirSync(tmp);
  mkdirSync(out);
  const child = spawn(cmd[0], cmd.slice(1), {
    cwd: dir,
    env: {
      ...process.env,
      HANDLER: 'fn.handler',
      _HANDLER: 'fn.handler',
      NANOGRID_ENTRY_FILE: entryFile,
      TMPDIR: tmp,
      OUTPUT_DIR: out,
    },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const waiting = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    if (l.startsWith('\u001eNANOGRID_RESULT ')) waiting.shift()?.();
  });
  // Each call its own id and event, as the host sends them.
  let seq = 0;
  const call = () =>
    new Promise((done) => {
      waiting.push(done);
      seq++;
      const env = {
        PAYLOAD: `{"n": ${seq}}`,
        JOB_ID: `bench-${seq}`,
        NANOGRID_TIMEOUT_MS: '60000',
        NANOGRID_DEADLINE_MS: String(Date.now() + 60_000),
      };
      child.stdin.write(`${JSON.stringify({ env })}\n`);
    });
  for (let i = 0; i < 50; i++) await call();
  const cpuBefore = cpuMs(child.pid);
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call();
    ms.push(performance.now() - t);
  }
  cpu.push(((cpuMs(child.pid) - cpuBefore) * 1000) / n);
  child.kill();
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

/** CPU time (user + system, all threads) the process has used so far, in ms, from /proc (clock ticks of 10 ms). */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const samples = {};
const cpuPerCall = {};
let cpu;
for (let r = 0; r < rounds; r++)
  for (const prints of [0, 10])
    for (const [label, root] of Object.entries(checkouts)) {
      cpu = cpuPerCall[`${prints}, ${label}`] ??= [];
      (samples[`${prints}, ${label}`] ??= []).push(...(await round(root, prints)));
    }

const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
console.log(`\n${node ? 'Node' : 'Python'} warm server round trip, ${rounds} alternating rounds of ${n} calls`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `${'scenario'.padEnd(44)} ${'n'.padStart(6)} ${'median ms'.padStart(10)} ${'p95 ms'.padStart(7)} ${'CPU µs/call'.padStart(12)}  vs baseline`,
);
console.log('-'.repeat(112));
for (const prints of [0, 10]) {
  const base = samples[`${prints}, baseline`].sort((a, b) => a - b);
  const baseCpu = median(cpuPerCall[`${prints}, baseline`]);
  for (const label of Object.keys(checkouts)) {
    const xs = samples[`${prints}, ${label}`].sort((a, b) => a - b);
    const cpuUs = median(cpuPerCall[`${prints}, ${label}`]);
    const vs =
      label === 'baseline'
        ? '(baseline)'
        : `median ${(pct(xs, 50) / pct(base, 50)).toFixed(3)}x, CPU ${(cpuUs / baseCpu).toFixed(3)}x`;
    const name = `handler printing ${prints} lines, ${label}`;
    console.log(
      `${name.padEnd(44)} ${String(xs.length).padStart(6)} ${pct(xs, 50).toFixed(3).padStart(10)} ${pct(xs, 95).toFixed(3).padStart(7)} ${cpuUs.toFixed(0).padStart(12)}  ${vs}`,
    );
  }
}

// Host memory under large requests: resident memory (VmRSS) of a `nanogrid start`
// process before, at its peak (VmHWM) and after each scenario. The client runs in
// this process, the host in its own, so only the host's memory is counted.
//   node bench/host-memory.mjs [uploads] [results] [payloads] [--store=memory|sqlite]
//   uploads:  10 concurrent uploads of a ~47 MB zip
//   results:  100 async jobs that each return a 5 MB result
//   payloads: 100 async jobs with a 5 MB payload, queued behind a busy function
import { spawn } from 'node:child_process';
import { openAsBlob } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createZip } from '@nanogrid/core';

const MB = 1024 * 1024;
const chosen = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const store = process.argv.find((a) => a.startsWith('--store='))?.slice(8) ?? 'memory';
const scenarios = chosen.length > 0 ? chosen : ['uploads', 'results', 'payloads'];
const CLI = new URL('../packages/host/dist/cli.js', import.meta.url).pathname;

async function memOf(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** Resets the peak (VmHWM) so each scenario reports its own. */
async function resetPeak(pid) {
  await writeFile(`/proc/${pid}/clear_refs`, '5').catch(() => undefined);
}

async function startHost(dir) {
  await writeFile(
    join(dir, 'nanogrid.config.json'),
    JSON.stringify({
      sandbox: 'process',
      embedded: { store },
      hostname: '127.0.0.1',
      http: { rateLimit: false },
      worker: { concurrency: 2, pollWaitMs: 1000 },
    }),
  );
  const child = spawn(process.execPath, [CLI, 'start', '--port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.resume();
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`host exited ${code}`)));
  });
  return { url, pid: child.pid, stop: () => new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))) };
}

async function deploy(url, name, file, body) {
  const form = new FormData();
  form.append('file', body, file);
  form.append('function_name', name);
  form.append('runtime', 'python3.9');
  form.append('handler', 'main.handler');
  form.append('timeout', '120');
  const res = await fetch(`${url}/upload`, { method: 'POST', body: form });
  const json = await res.json();
  return { status: res.status, id: json.function_id, code: json.error?.code };
}

const settle = () => new Promise((r) => setTimeout(r, 3000));

async function submitAsync(url, function_id, payload) {
  const res = await fetch(`${url}/run`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-async': 'true' },
    body: JSON.stringify({ function_id, payload }),
  });
  const json = await res.json();
  return { status: res.status, id: json.job_id, code: json.error?.code };
}

async function waitAll(url, ids) {
  for (const id of ids) {
    for (;;) {
      const r = await (await fetch(`${url}/status/${id}`)).json();
      if (r.status === 'completed' || r.status === 'failed') break;
      await new Promise((res) => setTimeout(res, 200));
    }
  }
}

const SCENARIOS = {
  async uploads(host, dir) {
    const zipPath = join(dir, 'big.zip');
    await writeFile(
      zipPath,
      await createZip([
        { path: 'main.py', data: 'def handler(e, c):\n    return {}\n' },
        { path: 'blob.bin', data: randomBytes(47 * 1000 * 1000) },
      ]),
    );
    const blob = await openAsBlob(zipPath);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => deploy(host.url, `big${i}`, 'code.zip', blob)),
    );
    return `${results.filter((r) => r.status === 201).length}/10 deployed (${(blob.size / MB).toFixed(1)} MiB each)`;
  },
  async results(host) {
    const fn = await deploy(
      host.url,
      'fat',
      'main.py',
      new Blob(['def handler(e, c):\n    return {"blob": "x" * 5_000_000}\n']),
    );
    const jobs = await Promise.all(Array.from({ length: 100 }, () => submitAsync(host.url, fn.id, {})));
    const ok = jobs.filter((j) => j.status === 202);
    await waitAll(
      host.url,
      ok.map((j) => j.id),
    );
    const codes = jobs.filter((j) => j.status !== 202).map((j) => j.code);
    return `${ok.length}/100 accepted and finished${codes.length ? `, refused: ${[...new Set(codes)].join(',')}` : ''}`;
  },
  async payloads(host) {
    const fn = await deploy(
      host.url,
      'slow',
      'main.py',
      new Blob(['import time\ndef handler(e, c):\n    time.sleep(30)\n    return {}\n']),
    );
    const payload = { blob: 'y'.repeat(5_000_000) };
    const jobs = [];
    for (let i = 0; i < 100; i++) jobs.push(await submitAsync(host.url, fn.id, payload));
    const codes = jobs.filter((j) => j.status !== 202).map((j) => j.code);
    return `${jobs.length - codes.length}/100 queued${codes.length ? `, refused: ${[...new Set(codes)].join(',')}` : ''}`;
  },
};

const rows = [];
for (const name of scenarios) {
  const dir = await mkdtemp(join(tmpdir(), 'nanogrid-mem-'));
  const host = await startHost(dir);
  try {
    await settle();
    const before = await memOf(host.pid);
    await resetPeak(host.pid);
    const outcome = await SCENARIOS[name](host, dir);
    const during = await memOf(host.pid);
    await settle();
    const after = await memOf(host.pid);
    rows.push([name, before.rss.toFixed(0), Math.max(during.hwm, after.hwm).toFixed(0), after.rss.toFixed(0), outcome]);
  } finally {
    await host.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
console.log(`embedded store: ${store}`);
const head = ['scenario', 'RSS before (MiB)', 'peak (MiB)', 'RSS after (MiB)', 'outcome'];
console.log(`| ${head.join(' | ')} |\n|${head.map(() => ' --- ').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);

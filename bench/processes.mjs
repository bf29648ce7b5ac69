// `nanogrid start --processes N` as the bench runs it: the CLI in a child process (the primary and its host
// processes), on Redis, its CPU read from /proc (primary + host processes) and redis-server's beside it.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { procCpuUs } from './cpu-stages.mjs';

const here = new URL('..', import.meta.url).pathname;

/** Children of `pid` (the host processes of a primary). */
async function childrenOf(pid) {
  const out = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) out.push(Number(entry));
  }
  return out;
}

/**
 * Starts `nanogrid start --processes <processes>` on Redis (`redisUrl`) with `sandbox`, from the checkout `repo`
 * (built; default this one); resolves with { url, pids(), cpuUs() (the primary's and its host processes' CPU so
 * far, µs), stop() }.
 */
export async function startProcessesHost({ processes, redisUrl, sandbox, repo = here }) {
  const cli = join(repo, 'packages/host/dist/cli.js');
  const dir = await mkdtemp(join(tmpdir(), 'nanogrid-bench-procs-'));
  const prefix = `bench-procs-${processes}-${Date.now()}:`;
  const dist = (pkg) => JSON.stringify(join(repo, 'packages', pkg, 'dist/index.js'));
  await writeFile(
    join(dir, 'nanogrid.config.mjs'),
    `import { redisQueue, redisResults } from ${dist('redis')};
export default {
  hostname: '127.0.0.1',
  sandbox: ${JSON.stringify(sandbox)},
  warm: { enabled: true },
  queue: redisQueue({ connection: ${JSON.stringify(redisUrl)}, keyPrefix: '${prefix}' }),
  results: redisResults({ connection: ${JSON.stringify(redisUrl)}, keyPrefix: '${prefix}' }),
  worker: { concurrency: 8, pollWaitMs: 1000 },
  http: { rateLimit: false, maxInflight: 100000 },
};
`,
  );
  const child = spawn(process.execPath, [cli, 'start', '--port', '0', '--processes', String(processes)], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NANOGRID_LOG_LEVEL: 'warn' },
  });
  let err = '';
  child.stderr.on('data', (c) => {
    err = (err + c.toString()).slice(-4000);
  });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c.toString();
      const m = /nanogrid listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`nanogrid start --processes ${processes} exited (${code}): ${err}`)));
  });
  const pids = async () => [child.pid, ...(await childrenOf(child.pid))];
  return {
    url,
    pids,
    cpuUs: async () => procCpuUs(await pids()),
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELLO_PY } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const cli = join(repo, 'packages/host/dist/cli.js');
const run = promisify(execFile);

/** Runs the CLI to completion (for commands that exit). */
async function cliOnce(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { cwd: tmpdir() });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Resolves with the URL from the "nanogrid listening on …" line, or rejects with the process's stderr. */
function listeningUrl(child: ChildProcess, stderr: () => string): Promise<string> {
  return new Promise((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no "listening" line within 60 s; stderr:\n${stderr()}`)), 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /nanogrid listening on (http:\/\/\S+) role=all\ndashboard: \1\/ui\/\n/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`host exited early with ${code}; stderr:\n${stderr()}`));
    });
  });
}

describe('nanogrid CLI as a real process', () => {
  let cwd: string;
  let child: ChildProcess;
  let url: string;
  let stderr = '';

  beforeAll(async () => {
    // dist/cli.js is what users run; build it (incremental, quick when up to date).
    await run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-b', 'packages/host'], { cwd: repo });
    cwd = await mkdtemp(join(tmpdir(), 'nanogrid-e2e-'));
    // A user project: @nanogrid/host installed, a TypeScript config importing it.
    await mkdir(join(cwd, 'node_modules/@nanogrid'), { recursive: true });
    await symlink(join(repo, 'packages/host'), join(cwd, 'node_modules/@nanogrid/host'), 'dir');
    await writeFile(
      join(cwd, 'nanogrid.config.ts'),
      `import { defineConfig, type NanoGridConfig } from '@nanogrid/host';
const worker: NanoGridConfig['worker'] = { concurrency: 2, pollWaitMs: 1000 };
export default defineConfig({ sandbox: 'process', hostname: '127.0.0.1', worker });
`,
    );
    child = spawn(process.execPath, [cli, 'start', '--port', '0'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    url = await listeningUrl(child, () => stderr);
  }, 180_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });

  it('serves the original test script: health, upload, sync run, async run, status; then stops cleanly on SIGTERM', async () => {
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'healthy' });

    const form = new FormData();
    form.append('file', new Blob([HELLO_PY]), 'hello.py');
    form.append('function_name', 'hello');
    form.append('runtime', 'python3.9');
    form.append('handler', 'main.handler');
    form.append('timeout', '30');
    const up = await fetch(`${url}/upload`, { method: 'POST', body: form });
    expect(up.status).toBe(201);
    const { function_id } = (await up.json()) as { function_id: string };

    const sync = await fetch(`${url}/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ function_id, payload: { name: 'NanoGrid' } }),
    });
    expect(sync.status).toBe(200);
    expect(await sync.json()).toMatchObject({ status: 'completed', result: { message: 'Hello, NanoGrid!' } });

    const async = await fetch(`${url}/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Async': 'true' },
      body: JSON.stringify({ function_id, payload: { name: 'Async' } }),
    });
    expect(async.status).toBe(202);
    const { job_id, status } = (await async.json()) as { job_id: string; status: string };
    expect(status).toBe('pending');

    // Another process owns the job: polling over HTTP is the only way to observe it.
    let record: { status: string; result?: unknown } = { status: 'pending' };
    const deadline = Date.now() + 30_000;
    while (!['completed', 'failed'].includes(record.status) && Date.now() < deadline) {
      const res = await fetch(`${url}/status/${job_id}`);
      expect(res.status).toBe(200);
      record = (await res.json()) as typeof record;
      if (record.status === 'pending' || record.status === 'running') await new Promise((r) => setTimeout(r, 100));
    }
    expect(record).toMatchObject({ status: 'completed', result: { message: 'Hello, Async!' } });

    const bad = await fetch(`${url}/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{oops',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('BAD_JSON');

    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
      child.once('exit', (code, signal) => r({ code, signal })),
    );
    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(stderr).toContain('stopped');
  }, 120_000);

  it('a reader that goes away (`nanogrid … | head`) ends the CLI quietly, not with an EPIPE stack trace', async () => {
    const child = spawn(process.execPath, [cli, 'help'], { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before the CLI writes its first line
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('bad flags exit 2 with a clear message; --help and images build --list exit 0', async () => {
    const bogus = await cliOnce(['start', '--bogus']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/--bogus/);
    const role = await cliOnce(['start', '--role', 'boss']);
    expect(role.code).toBe(2);
    expect(role.stderr).toMatch(/--role must be one of all, controller, worker/);
    const unknown = await cliOnce(['launch']);
    expect(unknown.code).toBe(2);
    const images = await cliOnce(['images', 'build', '--list']);
    expect(images.code).toBe(0);
    expect(images.stdout).toContain('nanogrid/python:3');
    expect((await cliOnce(['images', 'push'])).code).toBe(2);
    const help = await cliOnce(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: nanogrid <command>[\s\S]*start[\s\S]*--role/);
  });
});

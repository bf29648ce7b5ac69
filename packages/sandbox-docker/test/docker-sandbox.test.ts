import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNanoGridError } from '@nanogrid/core';
import { dockerSandbox } from '../src/docker-sandbox.js';
import { caseDirs, containersLabelled, dockerTestEnv } from './helpers/docker-env.js';

const env = await dockerTestEnv();

describe.skipIf(!env.ready)('dockerSandbox: running functions', () => {
  const sandbox = dockerSandbox();
  let dirs: Awaited<ReturnType<typeof caseDirs>>;
  const py = (code: string, extra = {}) => dirs.spec({ 'main.py': code }, ['python3', 'main.py'], extra);

  beforeAll(async () => {
    dirs = await caseDirs('ng-docker-sb');
  });
  afterAll(async () => {
    await sandbox.close();
    await dirs?.cleanup();
  });

  it('is named docker and isolated', () => {
    expect(sandbox.name).toBe('docker');
    expect(sandbox.isolated).toBe(true);
  });

  it('check() answers while the engine does; an engine that is not there is SANDBOX_UNAVAILABLE', async () => {
    await expect(sandbox.check()).resolves.toBeUndefined();
    const nowhere = dockerSandbox({ socketPath: join(tmpdir(), `no-docker-${process.pid}-${Date.now()}.sock`) });
    await expect(nowhere.check()).rejects.toMatchObject({ code: 'SANDBOX_UNAVAILABLE' });
    await nowhere.close();
  });

  it('returns exit code, stdout and stderr separately, and peak memory', async () => {
    const res = await sandbox.run(
      await py('import sys\nprint("to stdout")\nprint("to stderr", file=sys.stderr)\nsys.exit(3)\n'),
    );
    expect(res.exitCode).toBe(3);
    expect(res.signal).toBeNull();
    expect(res.stdout).toBe('to stdout\n');
    expect(res.stderr).toBe('to stderr\n');
    expect(res).toMatchObject({ timedOut: false, oomKilled: false, stdoutTruncated: false, stderrTruncated: false });
    expect(res.durationMs).toBeGreaterThan(0);
    expect(res.peakMemoryBytes).toBeGreaterThan(1024 * 1024);
    expect(res.peakMemoryBytes).toBeLessThan(256 * 1024 * 1024);
  });

  it('writes stdin to the program and closes it', async () => {
    const res = await sandbox.run(
      await py('import json, sys\nd = json.load(sys.stdin)\nprint(d["x"] * 2)\n', { stdin: '{"x": 21}' }),
    );
    expect(res.exitCode).toBe(0);
    expect(res.stdout.trim()).toBe('42');
  });

  it('passes a large stdin whole', async () => {
    const payload = JSON.stringify({ blob: 'y'.repeat(3 * 1024 * 1024) });
    const res = await sandbox.run(await py('import sys\nprint(len(sys.stdin.read()))', { stdin: payload }));
    expect(res.exitCode).toBe(0);
    expect(Number(res.stdout.trim())).toBe(payload.length);
  });

  it('gives the function its env, with the contract variables, as uid 65534 in /code', async () => {
    const code =
      'import os, json\nprint(json.dumps({k: os.environ.get(k) for k in ["FOO", "OUTPUT_DIR", "TMPDIR", "HOME"]} | {"uid": os.getuid(), "cwd": os.getcwd()}))\n';
    const res = await sandbox.run(await py(code, { env: { FOO: 'bar baz', HOME: '/root', OUTPUT_DIR: '/elsewhere' } }));
    expect(res.exitCode).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({
      FOO: 'bar baz',
      OUTPUT_DIR: '/output',
      TMPDIR: '/tmp',
      HOME: '/tmp',
      uid: 65534,
      cwd: '/code',
    });
  });

  it('copies nested outputs out and leaves links behind', async () => {
    const code = [
      'import os',
      'open("/output/a.txt", "w").write("top")',
      'os.makedirs("/output/d/e")',
      'open("/output/d/e/b.txt", "w").write("nested")',
      'os.symlink("/etc/passwd", "/output/link")',
      'open("/tmp/scratch", "w").write("not an output")',
    ].join('\n');
    const spec = await py(code);
    const res = await sandbox.run(spec);
    expect(res.exitCode).toBe(0);
    expect(await readFile(join(spec.outputDir, 'a.txt'), 'utf8')).toBe('top');
    expect(await readFile(join(spec.outputDir, 'd/e/b.txt'), 'utf8')).toBe('nested');
    expect(existsSync(join(spec.outputDir, 'link'))).toBe(false);
    expect(existsSync(join(spec.outputDir, 'scratch'))).toBe(false);
  });

  it('leaves an empty output dir when the function writes nothing', async () => {
    const spec = await py('print("nothing written")');
    const res = await sandbox.run(spec);
    expect(res.exitCode).toBe(0);
    expect(existsSync(spec.outputDir)).toBe(true);
  });

  it('caps stdout (head) and stderr (tail)', async () => {
    const code = 'import sys\nsys.stdout.write("A" * 100000)\nsys.stderr.write("x" * 100000 + "END")\n';
    const res = await sandbox.run(await py(code, { maxStdoutBytes: 1000, maxStderrBytes: 500 }));
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toBe('A'.repeat(1000));
    expect(res.stdoutTruncated).toBe(true);
    expect(res.stderr).toHaveLength(500);
    expect(res.stderr.endsWith('END')).toBe(true);
    expect(res.stderrTruncated).toBe(true);
  });

  it('fails with OUTPUT_TOO_LARGE past the output cap, and removes the container', async () => {
    const capped = dockerSandbox({ maxOutputBytes: 1000 });
    const label = `cap-${Date.now()}`;
    const spec = await py('open("/output/big.bin", "wb").write(b"x" * 5000)', { labels: { 'nanogrid.test': label } });
    const err = await capped.run(spec).catch((e: unknown) => e);
    expect(isNanoGridError(err, 'OUTPUT_TOO_LARGE')).toBe(true);
    expect(await containersLabelled('nanogrid.test', label)).toEqual([]);
  });

  it('runs several functions at once without mixing them up', async () => {
    const specs = await Promise.all(
      [1, 2, 3].map((i) => py(`import time\ntime.sleep(0.3)\nprint(${i})\nopen("/output/n", "w").write("${i}")`)),
    );
    const results = await Promise.all(specs.map((s) => sandbox.run(s)));
    for (const [i, res] of results.entries()) {
      expect(res.stdout.trim()).toBe(String(i + 1));
      expect(await readFile(join(specs[i]!.outputDir, 'n'), 'utf8')).toBe(String(i + 1));
    }
  });

  it('answers IMAGE_NOT_FOUND quickly for an image that does not exist', async () => {
    const started = Date.now();
    const err = await sandbox
      .run(await py('print(1)', { image: 'nanogrid/does-not-exist:0' }))
      .catch((e: unknown) => e);
    expect(isNanoGridError(err, 'IMAGE_NOT_FOUND')).toBe(true);
    expect((err as Error).message).toContain('nanogrid/does-not-exist:0');
    expect((err as Error).message).toContain('nanogrid images build');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('kills the run when its signal aborts, and removes the container', async () => {
    const label = `abort-${Date.now()}`;
    const spec = await py('import time\ntime.sleep(60)', {
      labels: { 'nanogrid.test': label },
      signal: AbortSignal.timeout(1000),
    });
    const res = await sandbox.run(spec);
    expect(res).toMatchObject({ exitCode: null, signal: 'SIGKILL', timedOut: false, oomKilled: false });
    expect(await containersLabelled('nanogrid.test', label)).toEqual([]);
  });

  it('refuses a run whose signal already aborted', async () => {
    const err = await sandbox.run(await py('print(1)', { signal: AbortSignal.abort() })).catch((e: unknown) => e);
    expect(isNanoGridError(err, 'SHUTTING_DOWN')).toBe(true);
  });

  it('measures peak memory through the stats API when cgroup files are not used', async () => {
    const viaStats = dockerSandbox({ cgroupRoot: false });
    const res = await viaStats.run(
      await py('import time\nblob = b"x" * (40 << 20)\ntime.sleep(1.5)\nprint(len(blob))'),
    );
    expect(res.exitCode).toBe(0);
    expect(res.peakMemoryBytes).toBeGreaterThan(30 * 1024 * 1024);
    await viaStats.close();
  });

  it('removes every container it created', async () => {
    const label = `rm-${Date.now()}`;
    await sandbox.run(await py('print(1)', { labels: { 'nanogrid.test': label } }));
    expect(await containersLabelled('nanogrid.test', label)).toEqual([]);
  });

  it('measures per-run latency of a trivial function', async () => {
    const spec = await py('print("hi")');
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = Date.now();
      const res = await sandbox.run(spec);
      times.push(Date.now() - t);
      expect(res.stdout).toBe('hi\n');
    }
    const median = [...times].sort((a, b) => a - b)[2]!;
    console.info(`docker sandbox: trivial python run ${times.join(', ')} ms (median ${median} ms)`);
    expect(median).toBeLessThan(5000);
  });
});

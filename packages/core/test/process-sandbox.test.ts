import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNanoGridError, type Logger, type SandboxRunSpec } from '../src/index.js';
import { findExecutable, splitPath } from '../src/sandbox/find-executable.js';
import { processSandbox } from '../src/sandbox/process-sandbox.js';

const hasBwrap = findExecutable('bwrap', splitPath(process.env.PATH)) !== undefined;
const inCi = process.env.CI === 'true';
if (!hasBwrap && !inCi)
  console.warn(
    'process-sandbox tests: bubblewrap is not installed, skipping its cases (apt-get install -y bubblewrap)',
  );

const quiet: Logger = { info() {}, warn() {}, error() {} };
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ng-psb-test-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
/** A fresh code dir (with optional files) and output dir, and a spec over them. */
async function specFor(
  command: string[],
  extra: Partial<SandboxRunSpec> = {},
  files: Record<string, string> = {},
): Promise<SandboxRunSpec> {
  const dir = join(root, `case-${++counter}`);
  const codeDir = join(dir, 'code');
  await mkdir(codeDir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(codeDir, name), text);
  await mkdir(join(dir, 'out')); // the caller (the Executor) owns the output directory
  return {
    image: 'unused',
    command,
    codeDir,
    outputDir: join(dir, 'out'),
    env: {},
    timeoutMs: 10_000,
    memoryMb: 512,
    network: 'none',
    ...extra,
  };
}

/** Live (non-zombie) processes whose command line contains `marker`. */
async function processesWith(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = (await readFile(`/proc/${name}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (cmdline.includes(marker) && state !== 'Z') found.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

const modes = [
  { mode: 'plain processes', bwrap: false, skip: false },
  { mode: 'bubblewrap', bwrap: true, skip: !hasBwrap && !inCi },
] as const;

describe.each(modes)('processSandbox with $mode', ({ bwrap, skip }) => {
  const sandbox = () => processSandbox({ bwrap, logger: quiet });

  it.skipIf(skip)('reports isolation truthfully', () => {
    expect(sandbox().isolated).toBe(bwrap);
  });

  it.skipIf(skip)('returns the exit code, stdout and stderr', async () => {
    const run = await sandbox().run(await specFor(['sh', '-c', 'echo out; echo err >&2; exit 3']));
    expect(run).toMatchObject({
      exitCode: 3,
      signal: null,
      stdout: 'out\n',
      stderr: 'err\n',
      timedOut: false,
      oomKilled: false,
    });
    expect(run.stdoutTruncated || run.stderrTruncated).toBe(false);
  });

  it.skipIf(skip)('gives a clean environment plus spec.env, OUTPUT_DIR, TMPDIR and HOME', async () => {
    process.env.NG_TEST_HOST_SECRET = 'leak';
    try {
      const script =
        'printf "%s|%s|%s|%s|%s|" "$FOO" "${NG_TEST_HOST_SECRET:-unset}" "$OUTPUT_DIR" "$TMPDIR" "$HOME"; pwd; echo t > "$TMPDIR/t" && cat "$TMPDIR/t"';
      const spec = await specFor(['sh', '-c', script], { env: { FOO: 'bar' } });
      const run = await sandbox().run(spec);
      expect(run.exitCode).toBe(0);
      const [foo, secret, outputDir, tmp, home, rest] = run.stdout.split('|');
      expect(foo).toBe('bar');
      expect(secret).toBe('unset');
      expect(outputDir).not.toBe(spec.outputDir); // a directory of the run's own, copied out after it
      if (bwrap) expect(outputDir).toBe('/run/nanogrid/output'); // /output links there
      expect(home).toBe(tmp);
      expect(rest).toBe(`${bwrap ? '/code' : spec.codeDir}\nt\n`); // bubblewrap shows the code at /code, as a container does
      if (!bwrap) expect(existsSync(tmp!)).toBe(false); // the per-run temp dir is removed
    } finally {
      delete process.env.NG_TEST_HOST_SECRET;
    }
  });

  it.skipIf(skip)('writes stdin to the program and closes it', async () => {
    const input = 'line\n'.repeat(50_000); // bigger than a pipe buffer
    const run = await sandbox().run(await specFor(['cat'], { stdin: input }));
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe(input);
  });

  it.skipIf(skip)(
    'kills the whole process group at the timeout, background children included',
    async () => {
      const marker = `${1000 + Math.floor(Math.random() * 1000)}.${process.pid}${counter}`;
      // The child proves it runs by itself (a /proc scan can be slower than the run on a loaded host).
      const script = `sleep ${marker} & sleep 0.1; kill -0 $! && echo started; wait`;
      const spec = await specFor(['sh', '-c', script], { timeoutMs: 2000 });
      const started = Date.now();
      const run = await sandbox().run(spec);
      expect(run.timedOut).toBe(true);
      expect(run.exitCode === null ? run.signal : 'exited').toBe('SIGKILL');
      expect(run.stdout).toBe('started\n');
      expect(Date.now() - started).toBeLessThan(8000);
      expect(await processesWith(`sleep ${marker}`)).toEqual([]);
    },
    90_000,
  ); // a /proc walk per check: slow on a busy host

  it.skipIf(skip)(
    'kills background children left behind when the main process exits',
    async () => {
      const marker = `${2000 + Math.floor(Math.random() * 1000)}.${process.pid}${counter}`;
      // The child proves it runs by writing its own line (a /proc scan can be slower than the run on a loaded host).
      const script = `(echo child-up; exec sleep ${marker}) > /dev/null 2>&1 & sleep 0.1; kill -0 $! && echo running; echo done`;
      const run = await sandbox().run(await specFor(['sh', '-c', script]));
      expect(run).toMatchObject({ exitCode: 0, stdout: 'running\ndone\n', timedOut: false });
      expect(await processesWith(`sleep ${marker}`)).toEqual([]);
    },
    90_000,
  ); // a /proc walk per check: slow on a busy host

  it.skipIf(skip)('kills a run that goes over its memory limit and reports the peak', async () => {
    const hog = 'a = []\nwhile True:\n    a.append(b"x" * (8 << 20))\n';
    const run = await sandbox().run(
      await specFor(['python3', 'hog.py'], { memoryMb: 96, timeoutMs: 20_000 }, { 'hog.py': hog }),
    );
    expect(run.oomKilled).toBe(true);
    expect(run.timedOut).toBe(false);
    expect(run.peakMemoryBytes).toBeGreaterThanOrEqual(96 * 1024 * 1024); // a cgroup stops it right at the limit
  });

  it.skipIf(skip)('reports the peak memory of a run within its limit', async () => {
    const code = 'import time\nblock = b"x" * (64 << 20)\ntime.sleep(0.4)\nprint(len(block))\n';
    const run = await sandbox().run(await specFor(['python3', 'use.py'], { memoryMb: 512 }, { 'use.py': code }));
    expect(run).toMatchObject({ exitCode: 0, oomKilled: false, stdout: `${64 << 20}\n` });
    expect(run.peakMemoryBytes).toBeGreaterThan(64 << 20);
    expect(run.peakMemoryBytes).toBeLessThan(512 << 20);
  });

  it.skipIf(skip)('caps megabytes of output: the head of stdout, the tail of stderr', async () => {
    const code = [
      'import sys',
      'sys.stdout.write("o" * (20 << 20))',
      'sys.stderr.write("e" * (3 << 20))',
      'sys.stderr.write("END")',
    ].join('\n');
    const run = await sandbox().run(await specFor(['python3', 'loud.py'], {}, { 'loud.py': code }));
    expect(run.exitCode).toBe(0);
    expect(run.stdout.length).toBe(8 * 1024 * 1024);
    expect(run.stdoutTruncated).toBe(true);
    expect(run.stderr.length).toBe(1024 * 1024);
    expect(run.stderr.endsWith('eeeEND')).toBe(true);
    expect(run.stderrTruncated).toBe(true);
  });

  it.skipIf(skip)('honours smaller caps from the spec', async () => {
    const spec = await specFor(['sh', '-c', 'seq 1 10000; seq 1 10000 >&2'], { maxStdoutBytes: 10, maxStderrBytes: 6 });
    const run = await sandbox().run(spec);
    expect(run).toMatchObject({
      stdout: '1\n2\n3\n4\n5\n',
      stderr: '10000\n',
      stdoutTruncated: true,
      stderrTruncated: true,
    });
  });

  it.skipIf(skip)('leaves files written to OUTPUT_DIR in spec.outputDir', async () => {
    const spec = await specFor([
      'sh',
      '-c',
      'echo hi > "$OUTPUT_DIR/a.txt"; mkdir "$OUTPUT_DIR/sub"; echo x > "$OUTPUT_DIR/sub/b.txt"',
    ]);
    const run = await sandbox().run(spec);
    expect(run.exitCode).toBe(0);
    expect(await readFile(join(spec.outputDir, 'a.txt'), 'utf8')).toBe('hi\n');
    expect(await readFile(join(spec.outputDir, 'sub', 'b.txt'), 'utf8')).toBe('x\n');
  });

  it.skipIf(skip)('stops the run when its AbortSignal fires', async () => {
    const ac = new AbortController();
    const spec = await specFor(['sh', '-c', 'echo go; exec sleep 30'], { signal: ac.signal });
    const pending = sandbox().run(spec);
    setTimeout(() => ac.abort(), 300);
    const run = await pending;
    expect(run.timedOut).toBe(false);
    expect(run.exitCode === 0).toBe(false);
    expect(run.durationMs).toBeLessThan(5000);
  });

  it.skipIf(skip)('throws SANDBOX_ERROR naming a missing command', async () => {
    const err = await sandbox()
      .run(await specFor(['no-such-binary-ng', '-c', 'x']))
      .catch((e: unknown) => e);
    expect(isNanoGridError(err, 'SANDBOX_ERROR')).toBe(true);
    expect((err as Error).message).toContain('no-such-binary-ng');
  });
});

describe('processSandbox under bubblewrap', () => {
  const skip = !hasBwrap && !inCi;
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((socket) => {
      socket.on('error', () => {}); // the client hangs up at once: a reset is expected
      socket.end('hello\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const connect = (p: () => number) => [
    'python3',
    '-c',
    `import socket\ntry:\n    socket.create_connection(("127.0.0.1", ${p()}), timeout=3)\n    print("connected")\nexcept OSError as e:\n    print("blocked")`,
  ];

  it.skipIf(skip)('blocks the network with policy none and shares it with policy internet', async () => {
    const sandbox = processSandbox({ bwrap: true, logger: quiet });
    const none = await sandbox.run(
      await specFor(
        connect(() => port),
        { network: 'none' },
      ),
    );
    expect(none.stdout).toBe('blocked\n');
    const internet = await sandbox.run(
      await specFor(
        connect(() => port),
        { network: 'internet' },
      ),
    );
    expect(internet.stdout).toBe('connected\n');
  });

  it.skipIf(skip)('shows the code read-only and hides host files', async () => {
    const sandbox = processSandbox({ bwrap: true, logger: quiet });
    const hostFile = join(root, 'host-secret.txt');
    await writeFile(hostFile, 'secret');
    const script =
      'touch x 2>/dev/null && echo writable || echo readonly; test -e /etc/shadow && echo shadow || echo no-shadow; cat "$HOST_FILE" 2>/dev/null || echo hidden; cat /code/f';
    const run = await sandbox.run(await specFor(['sh', '-c', script], { env: { HOST_FILE: hostFile } }, { f: 'code' }));
    expect(run.stdout).toBe('readonly\nno-shadow\nhidden\ncode');
  });
});

describe('processSandbox warnings', () => {
  const capture = () => {
    const warnings: string[] = [];
    const logger: Logger = { info() {}, error() {}, warn: (msg) => void warnings.push(msg) };
    return { warnings, logger };
  };

  it('warns once that processes are not isolated when bwrap is not on the PATH', async () => {
    const { warnings, logger } = capture();
    const emptyBin = await mkdtemp(join(root, 'bin-'));
    const sandbox = processSandbox({ bwrap: 'auto', path: emptyBin, logger });
    expect(sandbox.isolated).toBe(false);
    const run = await sandbox.run(await specFor(['/bin/sh', '-c', 'echo ok']));
    await sandbox.run(await specFor(['/bin/sh', '-c', 'echo ok']));
    expect(run.stdout).toBe('ok\n');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/not isolated/i);
  });

  it('refuses bwrap: true when bubblewrap is missing', () => {
    const { logger } = capture();
    let err: unknown;
    try {
      processSandbox({ bwrap: true, path: join(root, 'nowhere'), logger });
    } catch (e) {
      err = e;
    }
    expect(isNanoGridError(err, 'SANDBOX_ERROR')).toBe(true);
  });

  it('throws SANDBOX_ERROR when bubblewrap cannot set a run up', async () => {
    // A stand-in bwrap that passes the factory's probe but fails like a broken mount would.
    const bin = await mkdtemp(join(root, 'fake-bwrap-'));
    const script =
      '#!/bin/sh\ncase "$*" in *--args*) echo "bwrap: Can\'t mount proc on /newroot/proc" >&2; exit 1;; esac\nexit 0\n';
    await writeFile(join(bin, 'bwrap'), script, { mode: 0o755 });
    const sandbox = processSandbox({ bwrap: true, path: `${bin}:/usr/bin:/bin`, logger: capture().logger });
    expect(sandbox.isolated).toBe(true);
    const err = await sandbox.run(await specFor(['sh', '-c', 'exit 1'])).catch((e: unknown) => e);
    expect(isNanoGridError(err, 'SANDBOX_ERROR')).toBe(true);
    expect((err as Error).message).toContain("Can't mount proc");
  });

  it('lowers the priority of runs with nice', async () => {
    const run = await processSandbox({ bwrap: false, nice: 7, logger: quiet }).run(await specFor(['nice']));
    expect(run.stdout.trim()).toBe(String(Math.min(19, 7 + (await import('node:os')).getPriority())));
  });

  it.skipIf(!hasBwrap && !inCi)('does not warn when bubblewrap is used', () => {
    const { warnings, logger } = capture();
    expect(processSandbox({ logger }).isolated).toBe(true);
    expect(warnings).toEqual([]);
  });
});

import { existsSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { NanoGridError } from '../errors.js';
import { consoleLogger, type Logger } from '../logger.js';
import type { Sandbox, SandboxRunResult, SandboxRunSpec, WarmRunResult, WarmRunSpec } from '../plugins/sandbox.js';
import { BWRAP_CODE_DIR, BWRAP_OUTPUT_DIR, BWRAP_TMP_DIR, SYSTEM_DIRS, bwrapArgs, probeBwrap } from './bwrap.js';
import { findExecutable, splitPath } from './find-executable.js';
import { pageSize } from './process-tree.js';
import { runSupervised } from './run-supervised.js';
import { CappedBuffer } from './capped-buffer.js';
import { ProcessWarmPool } from './process-warm-pool.js';
import type { WarmPoolOptions } from './warm-pool-base.js';

const PLUGIN = 'process';

export interface ProcessSandboxOptions {
  /**
   * Run inside bubblewrap: `'auto'` uses it when `bwrap` is on the PATH and
   * works here; `true` requires it (the factory throws `SANDBOX_ERROR` when it
   * cannot); `false` runs plain host processes.
   * @default 'auto'
   */
  bwrap?: 'auto' | boolean;
  /** PATH where commands are looked up and that runs get. @default process.env.PATH */
  path?: string;
  /**
   * More host paths bound read-only (same path) inside bubblewrap, e.g. a
   * toolchain outside /usr and /opt. A command found only outside the system
   * directories gets its install prefix bound automatically.
   * @default []
   */
  bindPaths?: string[];
  /** Interval of the memory sampler; a run can overshoot its limit for about this long. @default 50 */
  memorySampleMs?: number;
  /**
   * Niceness (1–19) given to runs through `nice`. CPU shares (`spec.cpus`)
   * cannot be enforced without cgroups: use the Docker sandbox for that.
   * @default 0 (runs at the host's priority)
   */
  nice?: number;
  /** Parent of the per-run temp directories. @default os.tmpdir() */
  tmpRoot?: string;
  /** Where the "not isolated" warning goes. @default consoleLogger() */
  logger?: Logger;
  /** Warm instances (processes kept per function version). @default the pool's defaults */
  warm?: WarmPoolOptions;
}

/** The command to exec and the environment of one run. */
interface Plan {
  file: string;
  args: string[];
  env: Record<string, string>;
}

function notFound(command: string, dirs: readonly string[], isolated: boolean): NanoGridError {
  const hint = isolated ? ' (inside bubblewrap only system directories and `bindPaths` are visible)' : '';
  return new NanoGridError(
    'SANDBOX_ERROR',
    `the command \`${command}\` was not found on this host: install it, or put it on the PATH of the process sandbox${hint}`,
    { plugin: PLUGIN, details: { command, path: dirs.join(':') } },
  );
}

function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Decides whether runs go through bubblewrap; logs the one warning when they do not. */
function chooseBwrap(mode: 'auto' | boolean, pathDirs: string[], logger: Logger): string | undefined {
  const warn = (why: string) =>
    logger.warn(
      `process sandbox: ${why}: functions run as plain host processes and are NOT isolated ` +
        '(they can read host files and reach the network). Install bubblewrap (`apt-get install bubblewrap`) or use the Docker sandbox.',
    );
  if (mode === false) {
    warn('bubblewrap is turned off (bwrap: false)');
    return undefined;
  }
  const found = findExecutable('bwrap', pathDirs);
  const probe = found ? probeBwrap(found) : undefined;
  if (found && probe?.ok) return found;
  const why = found
    ? `bubblewrap (${found}) does not work here: ${probe && !probe.ok ? probe.reason : ''}`
    : 'bubblewrap (bwrap) is not on the PATH';
  if (mode === true) throw new NanoGridError('SANDBOX_ERROR', `process sandbox: ${why}`, { plugin: PLUGIN });
  warn(why);
  return undefined;
}

/**
 * The embedded sandbox: runs a command with the host's toolchain in its own
 * process group, with a timeout that kills the whole group, a memory limit
 * (summed RSS sampled from /proc), capped stdout / stderr, and, when
 * bubblewrap is installed, no network and a read-only view of the system.
 *
 * Limits it cannot give (use the Docker sandbox for them): CPU shares
 * (`cpus`; `nice` only lowers priority), a process count limit, a hard memory
 * ceiling between two samples (no rlimit is set: RLIMIT_AS breaks runtimes
 * that reserve address space, and RLIMIT_DATA would turn the kill into an
 * allocation failure inside the function), and with `network: 'ai'` the
 * host's whole network is shared, not only the AI endpoint. Without
 * bubblewrap a process that double-forks into a new session before the first
 * memory sample can outlive the run.
 *
 * The function's own failures (exit codes, signals, limits) are in the
 * result; only infrastructure failures throw (`SANDBOX_ERROR`: a command not
 * found, bubblewrap unable to set up). An aborted run resolves with what it
 * had (killed: `signal` SIGKILL); the caller knows it aborted.
 */
export function processSandbox(opts: ProcessSandboxOptions = {}): Sandbox {
  const logger = opts.logger ?? consoleLogger();
  const hostPath = splitPath(opts.path ?? process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin');
  const bwrapPath = chooseBwrap(opts.bwrap ?? 'auto', hostPath, logger);
  const sampleMs = opts.memorySampleMs ?? 50;
  const tmpRoot = opts.tmpRoot ?? tmpdir();
  const bindPaths = (opts.bindPaths ?? []).map((p) => resolve(p));
  const pageBytes = pageSize();
  if (!existsSync('/proc/self/stat'))
    logger.warn('process sandbox: no /proc on this host: memory limits are not enforced');
  let nicePrefix: string[] = [];
  if (opts.nice !== undefined && opts.nice !== 0) {
    if (!Number.isInteger(opts.nice) || opts.nice < 1 || opts.nice > 19) {
      throw new NanoGridError(
        'CONFIG_INVALID',
        `process sandbox: nice must be an integer from 1 to 19, got ${opts.nice}`,
        { plugin: PLUGIN },
      );
    }
    const nicePath = findExecutable('nice', hostPath);
    if (nicePath) nicePrefix = [nicePath, '-n', String(opts.nice)];
    else logger.warn('process sandbox: `nice` is not on the PATH; runs keep the host priority');
  }
  const lang = process.env.LANG ?? 'C.UTF-8';

  const planPlain = (spec: SandboxRunSpec, codeDir: string, outputDir: string, tmpDir: string): Plan => {
    const [name, ...rest] = spec.command as [string, ...string[]];
    const file = findExecutable(name, hostPath, codeDir);
    if (!file) throw notFound(name, hostPath, false);
    const env = {
      PATH: hostPath.join(':'),
      LANG: lang,
      ...spec.env,
      OUTPUT_DIR: outputDir,
      TMPDIR: tmpDir,
      HOME: tmpDir,
    };
    return { file, args: rest, env };
  };

  const planBwrap = (bwrap: string, spec: SandboxRunSpec, codeDir: string, outputDir: string, tmpDir: string): Plan => {
    const [name, ...rest] = spec.command as [string, ...string[]];
    const visible = [...SYSTEM_DIRS, ...bindPaths, codeDir];
    const innerPath = hostPath.filter((d) => visible.some((root) => isUnder(d, root)));
    for (const d of ['/usr/local/bin', '/usr/bin', '/bin']) if (!innerPath.includes(d)) innerPath.push(d);
    const extra = [...bindPaths];
    let file = findExecutable(name, innerPath, codeDir);
    if (file && !visible.some((root) => isUnder(file!, root))) file = undefined;
    if (!file) {
      // Found only outside the system dirs (nvm, pyenv …): bind its install prefix read-only.
      const onHost = findExecutable(name, hostPath, codeDir);
      if (!onHost) throw notFound(name, innerPath, true);
      file = realpathSync(onHost);
      const binDir = dirname(file);
      const prefix = dirname(binDir);
      // never expose a whole home directory or /: a shallow prefix binds only the binary's own dir
      extra.push(prefix.split('/').filter(Boolean).length >= 2 ? prefix : binDir);
      innerPath.unshift(binDir);
      logger.debug?.('process sandbox: binding a toolchain outside the system directories', {
        command: name,
        path: extra.at(-1),
      });
    }
    // A program of the code directory (./main) is seen at /code inside.
    if (isUnder(file, codeDir)) file = BWRAP_CODE_DIR + file.slice(codeDir.length);
    const args = [
      ...bwrapArgs({ codeDir, outputDir, tmpDir, network: spec.network, extraReadOnly: extra }),
      // bwrap writes {"exit-code": n} there once the command ran: its absence tells a setup failure
      '--json-status-fd',
      '3',
      '--',
      file,
      ...rest,
    ];
    const env = {
      PATH: innerPath.join(':'),
      LANG: lang,
      ...spec.env,
      OUTPUT_DIR: BWRAP_OUTPUT_DIR,
      TMPDIR: BWRAP_TMP_DIR,
      HOME: BWRAP_TMP_DIR,
    };
    return { file: bwrap, args, env };
  };

  let pool: ProcessWarmPool | undefined;
  const warmPool = (): ProcessWarmPool =>
    (pool ??= new ProcessWarmPool(
      {
        plan: (spec, command, outputDir, tmpDir) => {
          const runSpec: SandboxRunSpec = { ...spec, command };
          const plan = bwrapPath
            ? planBwrap(bwrapPath, runSpec, resolve(spec.codeDir), outputDir, tmpDir)
            : planPlain(runSpec, resolve(spec.codeDir), outputDir, tmpDir);
          return nicePrefix.length > 0
            ? { ...plan, file: nicePrefix[0]!, args: [...nicePrefix.slice(1), plan.file, ...plan.args] }
            : plan;
        },
        tmpRoot,
        pageBytes,
        sampleMs,
      },
      opts.warm,
    ));

  return {
    name: PLUGIN,
    isolated: bwrapPath !== undefined,
    async runWarm(spec: WarmRunSpec): Promise<WarmRunResult> {
      if (spec.signal?.aborted)
        throw new NanoGridError('SHUTTING_DOWN', 'the run was cancelled before it started', { plugin: PLUGIN });
      return warmPool().run(spec);
    },
    setWarmCapacity: (n) => warmPool().setMaxTotal(n),
    async close(): Promise<void> {
      await pool?.close();
    },
    async run(spec: SandboxRunSpec): Promise<SandboxRunResult> {
      if (!Array.isArray(spec.command) || typeof spec.command[0] !== 'string' || spec.command[0] === '') {
        throw new NanoGridError('SANDBOX_ERROR', 'the sandbox was given an empty command', { plugin: PLUGIN });
      }
      if (spec.signal?.aborted) {
        return {
          exitCode: null,
          signal: 'SIGKILL',
          stdout: '',
          stderr: '',
          stdoutTruncated: false,
          stderrTruncated: false,
          timedOut: false,
          oomKilled: false,
          durationMs: 0,
        };
      }
      const codeDir = resolve(spec.codeDir);
      const outputDir = resolve(spec.outputDir);
      const codeStat = await stat(codeDir).catch(() => undefined);
      if (!codeStat?.isDirectory()) {
        throw new NanoGridError('SANDBOX_ERROR', `the code directory ${codeDir} does not exist`, { plugin: PLUGIN });
      }
      let tmpDir: string;
      try {
        await mkdir(outputDir, { recursive: true });
        await mkdir(tmpRoot, { recursive: true });
        tmpDir = await mkdtemp(join(tmpRoot, 'nanogrid-run-'));
      } catch (err) {
        throw new NanoGridError('SANDBOX_ERROR', `cannot prepare the run's directories: ${(err as Error).message}`, {
          plugin: PLUGIN,
          cause: err,
        });
      }
      try {
        const plan = bwrapPath
          ? planBwrap(bwrapPath, spec, codeDir, outputDir, tmpDir)
          : planPlain(spec, codeDir, outputDir, tmpDir);
        const status = bwrapPath ? new CappedBuffer(64 * 1024, 'head') : undefined;
        const result = await runSupervised({
          file: nicePrefix[0] ?? plan.file,
          args: nicePrefix.length > 0 ? [...nicePrefix.slice(1), plan.file, ...plan.args] : plan.args,
          cwd: codeDir,
          env: plan.env,
          ...(spec.stdin !== undefined ? { stdin: spec.stdin } : {}),
          timeoutMs: spec.timeoutMs,
          memoryBytes: spec.memoryMb > 0 ? spec.memoryMb * 1024 * 1024 : 0,
          sampleMs,
          maxStdoutBytes: spec.maxStdoutBytes ?? 8 * 1024 * 1024,
          maxStderrBytes: spec.maxStderrBytes ?? 1024 * 1024,
          pageBytes,
          ...(spec.signal ? { signal: spec.signal } : {}),
          ...(status ? { statusPipe: status } : {}),
          plugin: PLUGIN,
        });
        const killedByUs = result.timedOut || result.oomKilled || spec.signal?.aborted === true;
        if (status && !killedByUs && !status.toString().includes('"exit-code"')) {
          throw new NanoGridError(
            'SANDBOX_ERROR',
            `bubblewrap could not set up the run: ${result.stderr.trim().slice(-2000)}`,
            {
              plugin: PLUGIN,
              details: { exitCode: result.exitCode, signal: result.signal },
            },
          );
        }
        return result;
      } finally {
        await rm(tmpDir, { recursive: true, force: true });
      }
    },
  };
}

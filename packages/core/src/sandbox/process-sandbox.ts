import { existsSync, statfsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NanoGridError } from '../errors.js';
import { consoleLogger, type Logger } from '../logger.js';
import {
  DEFAULT_DISK_MB,
  type Sandbox,
  type SandboxRunResult,
  type SandboxRunSpec,
  type WarmRunResult,
  type WarmRunSpec,
} from '../plugins/sandbox.js';
import { BWRAP_CODE_DIR, bwrapDiskFromHost, bwrapOutputsFromHost, probeBwrap } from './bwrap.js';
import { copyOutputs } from './copy-outputs.js';
import { findExecutable, splitPath } from './find-executable.js';
import { planner } from './process-plan.js';
import { createRunCgroup, joinCgroups, probeCgroupRoots, type RunCgroup } from './run-cgroup.js';
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
   * Per-run cgroups (v1 memory and pids, made under the worker's own cgroup)
   * when the worker may make them (root): the kernel then holds `memory_mb`
   * and `pidsLimit` for a run's and a warm instance's whole life. `'auto'`
   * uses them when a probe works; `false` never.
   * @default 'auto'
   */
  cgroups?: 'auto' | false;
  /** Processes and threads a run may have at once, where cgroups are used. @default 512 */
  pidsLimit?: number;
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

/** Bytes a run's tmpfs holds (it is RAM: counted with the run's memory), seen through a process of the run. */
export function tmpfsUsed(childPid: number | undefined): number {
  if (childPid === undefined) return 0;
  try {
    const st = statfsSync(bwrapDiskFromHost(childPid));
    return (st.blocks - st.bfree) * st.bsize;
  } catch {
    return 0; // the run is gone
  }
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
  const cgroupRoots = opts.cgroups === false ? undefined : probeCgroupRoots();
  const pidsLimit = opts.pidsLimit ?? 512;
  let cgroupRuns = 0;
  /** A run's cgroups, named after the worker's pid and a counter (undefined without cgroups). */
  const runCgroup = (memoryMb: number): RunCgroup | undefined =>
    cgroupRoots
      ? createRunCgroup(cgroupRoots, `nanogrid-${process.pid}-${++cgroupRuns}`, {
          memoryBytes: memoryMb * 1024 * 1024,
          pids: pidsLimit,
        })
      : undefined;
  if (!existsSync('/proc/self/stat'))
    logger.warn('process sandbox: no /proc on this host: memory limits are not enforced');
  const diskBytesOf = (spec: { diskMb?: number }): number => (spec.diskMb ?? DEFAULT_DISK_MB) * 1024 * 1024;
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
  const plan = planner({ hostPath, bindPaths, lang: process.env.LANG ?? 'C.UTF-8', logger, nicePrefix }, bwrapPath);

  let pool: ProcessWarmPool | undefined;
  const warmPool = (): ProcessWarmPool =>
    (pool ??= new ProcessWarmPool(
      {
        plan: (spec, command, outputDir, tmpDir) =>
          plan({
            command,
            codeDir: resolve(spec.codeDir),
            env: spec.env,
            network: spec.network,
            diskBytes: diskBytesOf(spec),
            outputDir,
            tmpDir,
            holder: false,
          }),
        isolated: bwrapPath !== undefined,
        tmpfsUsed,
        cgroup: runCgroup,
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
      const codeStat = await stat(codeDir).catch(() => undefined);
      if (!codeStat?.isDirectory()) {
        throw new NanoGridError('SANDBOX_ERROR', 'the code directory of this run does not exist', {
          plugin: PLUGIN,
          details: { codeDir },
        });
      }
      let runDir: string;
      let cg: RunCgroup | undefined;
      try {
        await mkdir(tmpRoot, { recursive: true });
        runDir = await mkdtemp(join(tmpRoot, 'nanogrid-run-'));
        if (!bwrapPath) await Promise.all([mkdir(join(runDir, 'output')), mkdir(join(runDir, 'tmp'))]);
      } catch (err) {
        throw new NanoGridError(
          'SANDBOX_ERROR',
          `cannot prepare the run's directories: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
          { plugin: PLUGIN, cause: err },
        );
      }
      try {
        const p = plan({
          command: spec.command,
          codeDir,
          env: spec.env,
          network: spec.network,
          diskBytes: diskBytesOf(spec),
          outputDir: join(runDir, 'output'),
          tmpDir: join(runDir, 'tmp'),
          holder: bwrapPath !== undefined,
        });
        const status = bwrapPath ? new CappedBuffer(64 * 1024, 'head') : undefined;
        /** The holder reported the command's exit: bubblewrap did set the run up. */
        let commandRan = false;
        const childPid = (): number | undefined => {
          const m = status && /"child-pid":\s*(\d+)/.exec(status.toString());
          return m ? Number(m[1]) : undefined;
        };
        cg = runCgroup(spec.memoryMb);
        const launch = cg ? joinCgroups(cg.procs, p.file, p.args) : p;
        let result = await runSupervised({
          file: launch.file,
          args: launch.args,
          cwd: bwrapPath ? '/' : codeDir,
          env: p.env,
          ...(p.argsBlock ? { argsBlock: p.argsBlock } : {}),
          ...(spec.stdin !== undefined ? { stdin: spec.stdin } : {}),
          timeoutMs: spec.timeoutMs,
          memoryBytes: spec.memoryMb > 0 ? spec.memoryMb * 1024 * 1024 : 0,
          sampleMs,
          maxStdoutBytes: spec.maxStdoutBytes ?? 8 * 1024 * 1024,
          maxStderrBytes: spec.maxStderrBytes ?? 1024 * 1024,
          pageBytes,
          ...(spec.signal ? { signal: spec.signal } : {}),
          ...(spec.onOutput ? { onOutput: spec.onOutput } : {}),
          ...(status
            ? {
                statusPipe: status,
                extraMemory: () => tmpfsUsed(childPid()),
                // The command exited; its leftovers are frozen while its outputs are copied out of its namespace.
                onDone: async (_status, tree) => {
                  commandRan = true;
                  const pid = childPid();
                  if (pid === undefined) return;
                  tree.stopAll();
                  await copyOutputs(bwrapOutputsFromHost(pid), spec.outputDir, { plugin: PLUGIN });
                },
              }
            : {}),
          plugin: PLUGIN,
        });
        const killedByUs = result.timedOut || result.oomKilled || spec.signal?.aborted === true;
        if (status && !killedByUs && !commandRan && !status.toString().includes('"exit-code"')) {
          throw new NanoGridError(
            'SANDBOX_ERROR',
            `bubblewrap could not set up the run: ${result.stderr.trim().slice(-2000).replaceAll(codeDir, BWRAP_CODE_DIR)}`,
            {
              plugin: PLUGIN,
              details: { exitCode: result.exitCode, signal: result.signal },
            },
          );
        }
        // The kernel held the cgroup's memory limit: its OOM kill is the run's, as the sampler's would be.
        if (cg && !result.timedOut && !result.oomKilled && cg.oomKills() > 0)
          result = {
            ...result,
            oomKilled: true,
            exitCode: null,
            signal: 'SIGKILL',
            peakMemoryBytes: Math.max(result.peakMemoryBytes ?? 0, cg.peakBytes()),
          };
        if (!bwrapPath && !killedByUs && !result.oomKilled)
          await copyOutputs(join(runDir, 'output'), spec.outputDir, { plugin: PLUGIN });
        return result;
      } finally {
        await rm(runDir, { recursive: true, force: true });
        await cg?.remove();
      }
    },
  };
}

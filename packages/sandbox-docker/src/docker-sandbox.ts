import { stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type Dockerode from 'dockerode';
import {
  CappedBuffer,
  DEFAULT_DISK_MB,
  MAX_OUTPUT_FILES,
  NanoGridError,
  silentLogger,
  type Logger,
  type Sandbox,
  type SandboxRunResult,
  type SandboxRunSpec,
  type WarmRunResult,
  type WarmRunSpec,
} from '@nanogrid/core';
import { extractOutputArchive, packCodeDir } from './docker-archive.js';
import {
  dockerMessage,
  dockerStatus,
  isLocalEngine,
  openDocker,
  type DockerConnectionOptions,
} from './docker-client.js';
import { demuxDockerStream } from './docker-demux.js';
import {
  detectCgroupPeak,
  openPeakMeter,
  pollStatsPeak,
  readCgroupCpuMs,
  readCgroupPeak,
  removeRunCgroups,
  removeStaleRunCgroups,
  runCgroupParent,
  type CgroupPeakSupport,
} from './docker-memory.js';
import { InstanceCodeDirs } from './code-dirs.js';
import { containerAiEndpoint, ensureInternalNetwork, planNetwork } from './docker-network.js';
import { LABEL, removeOrphanContainers, type CleanupOrphansOptions } from './docker-orphans.js';
import { containerSpec } from './docker-spec.js';
import { type Scratch, ScratchMounts } from './docker-scratch.js';
import { removeStaleFifoDirs } from './fifo-channel.js';
import { type InstanceLimits, writeCgroupLimits } from './docker-limits.js';
import { DockerWarmPool, type WarmPoolOptions } from './docker-warm-pool.js';

export interface DockerSandboxOptions extends DockerConnectionOptions {
  /** Names this worker's containers (label `nanogrid.worker`); a stable id lets a restarted worker clean up. @default `<hostname>-<pid>` */
  workerId?: string;
  /** CPU share when a run gives none. @default 0.5 */
  cpus?: number;
  /** Processes and threads a run may have (fork bombs stop here). @default 128 */
  pidsLimit?: number;
  /**
   * Parent of the per-run tmpfs mounts that hold /tmp and /output (their
   * space together is the run's `diskMb`; see docker-scratch.ts). Needs root
   * and a local engine; false, or where mounting fails: /tmp is a tmpfs of
   * `diskMb` and /output an uncapped volume. @default `<os.tmpdir()>/nanogrid-scratch-<uid>`
   */
  scratchDir?: string | false;
  /** `uid:gid` the function runs as. @default '65534:65534' (nobody) */
  user?: string;
  /** Bytes copied out of /output per run; more fails the run with OUTPUT_TOO_LARGE. @default 256 MiB */
  maxOutputBytes?: number;
  /** Files and directories copied out of /output per run. @default MAX_OUTPUT_FILES (10,000) */
  maxOutputFiles?: number;
  /** Network of the `ai` policy; created as an internal bridge when missing. @default 'nanogrid-ai' */
  aiNetwork?: string;
  /** Where the host's cgroups are mounted, read for peak memory on a local engine; false: stats API only. @default '/sys/fs/cgroup' */
  cgroupRoot?: string | false;
  /** How long to wait for the last output after the container exits, ms. @default 2000 */
  drainTimeoutMs?: number;
  /** Warm instances (containers kept per function version); the engine uses them when a runtime has a serve command. @default {} */
  warm?: WarmPoolOptions;
  /**
   * Warm instances of a local engine talk over named pipes in a bind-mounted
   * host directory (fewer copies than the attach stream); false: the attach
   * stream, as with a remote engine. @default true
   */
  warmPipes?: boolean;
  /** Parent of the pipes' directories. @default os.tmpdir() */
  warmPipesDir?: string;
  /**
   * On a local engine a run's code is a read-only bind mount at /code instead
   * of a copy through the archive API: a cold run binds its prepared code
   * directory, a warm instance its own directory under this one (a prewarmed
   * spare gets the function's code linked in when it is taken; see
   * code-dirs.ts). Put it on the filesystem of the worker's `workDir` so
   * the code is hard-linked, not copied. false: the archive API, as with a
   * remote engine. @default `<os.tmpdir()>/nanogrid-code-<uid>`
   */
  codeDirs?: string | false;
  logger?: Logger;
}

/** The Docker sandbox, plus the clean-up a worker runs at start-up. */
export interface DockerSandbox extends Sandbox {
  readonly name: 'docker';
  readonly workerId: string;
  /** Removes containers (and their volumes) that crashed workers left behind; returns how many. */
  cleanupOrphans(opts?: CleanupOrphansOptions): Promise<number>;
  /** Pings the engine: SANDBOX_UNAVAILABLE when it does not answer. */
  check(): Promise<void>;
  close(): Promise<void>;
}

const MiB = 1024 * 1024;

/**
 * Runs each invocation in a fresh, hardened container (see docker-spec.ts).
 * Outputs come out with `getArchive`. With a remote `DOCKER_HOST` code goes in
 * with `putArchive` and no host path is mounted; on a local engine the code is
 * a read-only bind mount (code-dirs.ts), and warm instances get a read-only
 * directory of three named pipes for their protocol (fifo-channel.ts).
 */
export function dockerSandbox(opts: DockerSandboxOptions = {}): DockerSandbox {
  const { logger = silentLogger, socketPath, host, port, protocol } = opts;
  const conn: DockerConnectionOptions = { socketPath, host, port, protocol };
  const workerId = opts.workerId ?? `${hostname()}-${process.pid}`;
  const startedAt = Date.now();
  const aiNetwork = opts.aiNetwork ?? 'nanogrid-ai';
  const cgroupRoot = opts.cgroupRoot ?? '/sys/fs/cgroup';

  let client: Promise<Dockerode> | undefined;
  const docker = () => (client ??= openDocker(conn));
  let cgroups: Promise<CgroupPeakSupport | undefined> | undefined;
  /** The same, once known (the warm pool's idle watchdog reads cgroups synchronously). */
  let cgroupSync: CgroupPeakSupport | undefined;
  const cgroupSupport = () =>
    (cgroups ??=
      cgroupRoot !== false && isLocalEngine(conn)
        ? docker()
            .then((d) => detectCgroupPeak(d, cgroupRoot))
            .then((s) => (cgroupSync = s))
        : Promise.resolve(undefined));
  let aiReady: Promise<void> | undefined;
  const ensureAi = async () => {
    aiReady ??= docker().then((d) => ensureInternalNetwork(d, aiNetwork));
    // A failed creation is retried by the next run.
    await aiReady.catch((err: unknown) => {
      aiReady = undefined;
      throw new NanoGridError('SANDBOX_ERROR', `cannot create the Docker network ${aiNetwork}: ${dockerMessage(err)}`, {
        plugin: 'docker-sandbox',
        cause: err,
      });
    });
  };

  const scratchRoot =
    opts.scratchDir === false || !isLocalEngine(conn)
      ? undefined
      : (opts.scratchDir ?? join(tmpdir(), `nanogrid-scratch-${process.getuid?.() ?? 0}`));
  const scratchMounts = scratchRoot ? new ScratchMounts(scratchRoot, logger) : undefined;
  /** The scratch mount of each live run, released with its container. */
  const scratches = new Map<string, Scratch>();
  const codeDirs =
    opts.codeDirs === false || !isLocalEngine(conn)
      ? undefined
      : new InstanceCodeDirs(opts.codeDirs ?? join(tmpdir(), `nanogrid-code-${process.getuid?.() ?? 0}`));

  async function create(
    d: Dockerode,
    spec: SandboxRunSpec,
    runId: string,
    support: CgroupPeakSupport | undefined,
    patch: Partial<Dockerode.ContainerCreateOptions> = {},
    codeMount?: string,
  ): Promise<Dockerode.Container> {
    const net = await planNetwork(spec.network, spec.env, aiNetwork, ensureAi);
    const diskMb = spec.diskMb ?? DEFAULT_DISK_MB;
    const scratch = await scratchMounts?.create(runId, diskMb);
    if (scratch) scratches.set(runId, scratch);
    const config = containerSpec(spec, {
      runId,
      network: net,
      cpus: spec.cpus ?? opts.cpus ?? 0.5,
      pidsLimit: opts.pidsLimit ?? 128,
      diskMb,
      ...(scratch ? { scratchBinds: scratch.binds } : {}),
      ...(codeMount ? { codeMount } : {}),
      user: opts.user ?? '65534:65534',
      labels: {
        [LABEL.worker]: workerId,
        [LABEL.host]: hostname(),
        [LABEL.pid]: String(process.pid),
        [LABEL.run]: runId,
      },
      ...(support ? { cgroupParent: runCgroupParent(runId) } : {}),
    });
    try {
      return await d.createContainer({
        ...config,
        ...patch,
        HostConfig: {
          ...config.HostConfig,
          ...patch.HostConfig,
          Binds: [...(config.HostConfig?.Binds ?? []), ...(patch.HostConfig?.Binds ?? [])],
        },
      });
    } catch (err) {
      scratches.delete(runId);
      await scratch?.release();
      if (dockerStatus(err) === 404 && /image/i.test(dockerMessage(err))) {
        throw new NanoGridError(
          'IMAGE_NOT_FOUND',
          `the Docker image ${spec.image} is not on this engine; build the runtime images with \`nanogrid images build\` (scripts/build-images.sh)`,
          { plugin: 'docker-sandbox', details: { image: spec.image } },
        );
      }
      throw new NanoGridError('SANDBOX_ERROR', `creating the container failed: ${dockerMessage(err)}`, {
        plugin: 'docker-sandbox',
        cause: err,
      });
    }
  }

  async function removeRun(
    container: Dockerode.Container,
    runId: string,
    support: CgroupPeakSupport | undefined,
  ): Promise<void> {
    await container.remove({ force: true, v: true }).catch((err: unknown) => {
      if (dockerStatus(err) !== 404)
        logger.warn('docker-sandbox: could not remove a container', { id: container.id, error: dockerMessage(err) });
    });
    if (support) await removeRunCgroups(support.root, runId);
    const scratch = scratches.get(runId);
    scratches.delete(runId);
    await scratch?.release();
  }

  const fifoRoot = isLocalEngine(conn) && opts.warmPipes !== false ? (opts.warmPipesDir ?? tmpdir()) : undefined;
  let pool: DockerWarmPool | undefined;
  const warmPool = (): DockerWarmPool =>
    (pool ??= new DockerWarmPool(
      {
        create: async (spec, runId, patch, codeMount) =>
          create(await docker(), spec, runId, await cgroupSupport(), patch, codeMount),
        remove: async (container, runId) => removeRun(container, runId, await cgroupSupport()),
        // Local engine: the protocol goes over named pipes in a bind-mounted directory, not through dockerd.
        ...(fifoRoot ? { fifoRoot } : {}),
        ...(codeDirs ? { codeDirs } : {}),
        defaultCpus: opts.cpus ?? 0.5,
        peakMeter: async (runId) => {
          const support = await cgroupSupport();
          return support ? openPeakMeter(support, runId) : undefined;
        },
        ...(cgroupRoot !== false && isLocalEngine(conn)
          ? {
              cpuMs: (runId: string) => (cgroupSync ? readCgroupCpuMs(cgroupSync, runId) : undefined),
              setLimits: (runId: string, id: string, limits: InstanceLimits) =>
                cgroupSync !== undefined && writeCgroupLimits(cgroupSync, runId, id, limits),
            }
          : {}),
        resizeDisk: async (runId, diskMb) => {
          const scratch = scratches.get(runId);
          if (!scratch) return false;
          await scratch.resize(diskMb);
          return true;
        },
        logger,
      },
      {
        maxOutputBytes: opts.maxOutputBytes ?? 256 * MiB,
        maxOutputFiles: opts.maxOutputFiles ?? MAX_OUTPUT_FILES,
        ...opts.warm,
      },
    ));

  async function runWarm(spec: WarmRunSpec): Promise<WarmRunResult> {
    if (spec.signal?.aborted)
      throw new NanoGridError('SHUTTING_DOWN', 'the run was cancelled before it started', { plugin: 'docker-sandbox' });
    try {
      return await warmPool().run(spec);
    } catch (err) {
      throw sandboxError(err, spec);
    }
  }

  async function run(spec: SandboxRunSpec): Promise<SandboxRunResult> {
    if (spec.signal?.aborted)
      throw new NanoGridError('SHUTTING_DOWN', 'the run was cancelled before it started', { plugin: 'docker-sandbox' });
    if (!(await stat(spec.codeDir).catch(() => undefined))?.isDirectory())
      throw new NanoGridError('SANDBOX_ERROR', 'the code directory of this run does not exist', {
        plugin: 'docker-sandbox',
      });
    const d = await docker();
    const support = await cgroupSupport();
    const runId = randomBytes(8).toString('hex');
    // A local engine binds the prepared code read-only (no copy); elsewhere it goes in through the archive API.
    const codeMount = codeDirs ? resolve(spec.codeDir) : undefined;
    const container = await create(d, spec, runId, support, {}, codeMount);
    try {
      return await execute(container, spec, runId, support, codeMount !== undefined);
    } catch (err) {
      throw sandboxError(err, spec);
    } finally {
      await removeRun(container, runId, support);
    }
  }

  async function execute(
    container: Dockerode.Container,
    spec: SandboxRunSpec,
    runId: string,
    support: CgroupPeakSupport | undefined,
    codeMounted: boolean,
  ): Promise<SandboxRunResult> {
    if (!codeMounted) await container.putArchive(await packCodeDir(spec.codeDir), { path: '/code' });

    const withStdin = spec.stdin !== undefined;
    // Attached before start so no output is lost; hijacked only when stdin must be written.
    const stream = (await container.attach({
      stream: true,
      stdout: true,
      stderr: true,
      stdin: withStdin,
      hijack: withStdin,
    })) as NodeJS.ReadWriteStream;
    const stdout = new CappedBuffer(spec.maxStdoutBytes ?? 8 * MiB, 'head');
    const stderr = new CappedBuffer(spec.maxStderrBytes ?? 1 * MiB, 'tail');
    const drained = demuxDockerStream(stream, stdout, stderr, spec.onOutput);

    let timedOut = false;
    let aborted = false;
    const kill = () => void container.kill().catch(() => undefined);
    await container.start();
    const t0 = Date.now();
    const poller = support ? undefined : pollStatsPeak(container);
    if (spec.stdin !== undefined) {
      // Half-close after the payload: with StdinOnce the program then reads EOF.
      (stream as NodeJS.WritableStream).end(spec.stdin);
    }
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, spec.timeoutMs);
    const onAbort = () => {
      aborted = true;
      kill();
    };
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    // Aborted while the container was being prepared: the event has already fired.
    if (spec.signal?.aborted) onAbort();
    try {
      await container.wait();
    } finally {
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onAbort);
    }
    const durationMs = Date.now() - t0;
    // The attach stream ends right after the exit; never let a stuck connection hold the run.
    let drainTimer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise<void>((r) => (drainTimer = setTimeout(r, opts.drainTimeoutMs ?? 2000)))]);
    clearTimeout(drainTimer);
    (stream as unknown as { destroy?: () => void }).destroy?.();

    const state = (await container.inspect()).State;
    const killedByUs = timedOut || aborted;
    const oomKilled = !killedByUs && (state.OOMKilled || state.ExitCode === 137);
    const peakMemoryBytes = support ? await readCgroupPeak(support, runId) : await poller?.stop();

    const signalled = killedByUs || oomKilled;
    // Nothing of a killed run is copied out: what it left may be half written.
    if (!signalled) {
      await extractOutputArchive(await container.getArchive({ path: '/output' }), spec.outputDir, {
        maxBytes: opts.maxOutputBytes ?? 256 * MiB,
        maxEntries: opts.maxOutputFiles ?? MAX_OUTPUT_FILES,
      });
    }

    return {
      exitCode: signalled ? null : state.ExitCode,
      signal: signalled ? 'SIGKILL' : null,
      stdout: stdout.toString(),
      stderr: stderr.toString(),
      stdoutTruncated: stdout.truncated,
      stderrTruncated: stderr.truncated,
      timedOut,
      oomKilled,
      durationMs,
      ...(peakMemoryBytes !== undefined ? { peakMemoryBytes } : {}),
    };
  }

  return {
    name: 'docker',
    isolated: true,
    workerId,
    run,
    runWarm,
    // A host service on loopback is reached through the host's alias (the `internet` and `ai` networks map it).
    hostUrl: containerAiEndpoint,
    prewarm: (spec) => warmPool().prewarm(spec),
    setWarmCapacity: (n) => warmPool().setMaxTotal(n),
    async check() {
      try {
        await (await docker()).ping();
      } catch (err) {
        throw new NanoGridError('SANDBOX_UNAVAILABLE', `the Docker engine does not answer: ${(err as Error).message}`, {
          plugin: 'docker',
          cause: err,
        });
      }
    },
    async cleanupOrphans(cleanup: CleanupOrphansOptions = {}) {
      const d = await docker();
      const { removed, liveRuns } = await removeOrphanContainers(
        d,
        { workerId, hostname: hostname(), pid: process.pid, startedAt },
        cleanup,
      );
      const support = await cgroupSupport();
      if (support) await removeStaleRunCgroups(support.root, liveRuns);
      if (fifoRoot) removeStaleFifoDirs(fifoRoot);
      await scratchMounts?.removeStale();
      await codeDirs?.removeStale();
      if (removed > 0) logger.info('docker-sandbox: removed containers left by a stopped worker', { removed });
      return removed;
    },
    async close() {
      await pool?.close();
      pool = undefined;
      client = undefined;
      cgroups = undefined;
      aiReady = undefined;
    },
  };
}

/**
 * A failure as the client may read it: NanoGridErrors pass, anything else is
 * SANDBOX_ERROR; either way the run's host directories never appear in the
 * message (the cause keeps the original for the logs).
 */
function sandboxError(err: unknown, spec: { codeDir: string; outputDir: string }): NanoGridError {
  const hide = (text: string) =>
    [spec.codeDir, spec.outputDir].filter(Boolean).reduce((t, dir) => t.split(dir).join('<run dir>'), text);
  if (err instanceof NanoGridError) {
    const message = hide(err.message);
    if (message === err.message) return err;
    return new NanoGridError(err.code, message, {
      plugin: err.plugin ?? 'docker-sandbox',
      cause: err,
      ...(err.details ? { details: err.details } : {}),
    });
  }
  return new NanoGridError('SANDBOX_ERROR', `the Docker sandbox failed: ${hide(dockerMessage(err))}`, {
    plugin: 'docker-sandbox',
    cause: err,
  });
}

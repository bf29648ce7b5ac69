import { randomBytes } from 'node:crypto';
import { PassThrough, type Writable } from 'node:stream';
import type Dockerode from 'dockerode';
import {
  answeredRun,
  DEFAULT_DISK_MB,
  MAX_OUTPUT_FILES,
  NanoGridError,
  PeakRearm,
  WarmChannel,
  WarmPoolBase,
  WarmStderr,
  type EvictedRemoval,
  type Logger,
  type PrewarmSpec,
  type SandboxRunSpec,
  type StartKind,
  type WarmExchange,
  type WarmInstance,
  type WarmPoolOptions,
  type WarmRunResult,
  type WarmRunSpec,
} from '@nanogrid/core';
import type { InstanceCodeDir, InstanceCodeDirs } from './code-dirs.js';
import { extractOutputArchive, packCodeDir } from './docker-archive.js';
import type { InstanceLimits } from './docker-limits.js';
import type { PeakMeter } from './docker-memory.js';
import { FIFO_MOUNT, type FifoChannel, openFifoChannel } from './fifo-channel.js';

/** What every outcome of a warm call reports, whatever its end. */
type BaseResult = Pick<
  WarmRunResult,
  'stderr' | 'stdoutTruncated' | 'stderrTruncated' | 'durationMs' | 'timedOut' | 'peakMemoryBytes'
>;

export type { WarmPoolOptions } from '@nanogrid/core';

/** What the pool needs from the Docker sandbox around it. */
export interface WarmPoolDeps {
  /** Creates a hardened container for `spec` (labels, limits, network), not started; `codeMount` is bound at /code. */
  create(
    spec: SandboxRunSpec,
    runId: string,
    patch: Partial<Dockerode.ContainerCreateOptions>,
    codeMount?: string,
  ): Promise<Dockerode.Container>;
  /** Removes a container and what belongs to its run. */
  remove(container: Dockerode.Container, runId: string): Promise<void>;
  /**
   * Host directory under which each instance gets its protocol pipes
   * (local engines only: the directory is bind-mounted); absent: the protocol
   * goes over the attach stream.
   */
  fifoRoot?: string;
  /** Each instance's own code directory, bound at /code (local engines only); absent: code goes in by `putArchive`. */
  codeDirs?: InstanceCodeDirs;
  /** Opens the instance's peak-memory meter (once it started); absent when cgroups cannot be read. */
  peakMeter?(runId: string): Promise<PeakMeter | undefined>;
  /** CPU time an instance's cgroup has used, ms; absent (or undefined) when cgroups cannot be read. */
  cpuMs?(runId: string): number | undefined;
  /**
   * Sets a running instance's limits where the kernel enforces them, without an engine round trip (which takes
   * 12-22 ms); false when it cannot (the pool then asks the engine). Absent: always the engine.
   */
  setLimits?(runId: string, containerId: string, limits: InstanceLimits): boolean;
  /** CPU quota of a container whose spec names none (a prewarmed spare). @default 0.5 */
  defaultCpus?: number;
  /** Changes the disk quota of a run's /tmp + /output; false when it cannot (no scratch mount). */
  resizeDisk?(runId: string, diskMb: number): Promise<boolean>;
  logger: Logger;
}

interface Instance extends WarmInstance {
  image: string;
  memoryMb: number;
  /** Its CPU quota, CPUs. */
  cpus: number;
  diskMb: number;
  runId: string;
  container: Dockerode.Container;
  channel: WarmChannel;
  stdin: Writable;
  stderr: WarmStderr;
  fifo: FifoChannel | undefined;
  code: InstanceCodeDir | undefined;
  /** The starter of a prewarmed spare (only a function whose runtime has the same one may take it). */
  starter?: string;
  /** Image whose spares are refilled once this claimed spare's first call is over. */
  refill?: string;
  /** Removes the instance evicted to make room for this claim: the refill's container waits until it is gone. */
  evicted?: EvictedRemoval;
  /** Limits set in its cgroup at the claim that the engine's record of the container gets after the first call. */
  engineLimits?: { Memory?: number; MemorySwap?: number; NanoCpus?: number };
  /** Opened once the container started (its cgroup exists then); null: not measurable here. */
  peak?: PeakMeter | null;
  /** Resets `peak` between calls. */
  peakRearm?: PeakRearm;
  /** CPU ms of its cgroup when the idle watchdog first saw it after its last call (-1: not taken yet). */
  idleCpuMs: number;
}

const MiB = 1024 * 1024;
/** How often idle instances are looked at. */
const WATCH_MS = 500;
/** CPU an idle instance may use between two calls, ms. */
const IDLE_CPU_MS = 300;

/**
 * Warm instances in Docker: one container per function version runs the
 * runtime's serve command, keeps the function loaded and answers one request
 * line per invocation. An instance that times out, runs out of memory, dies or
 * writes garbage is removed and the invocation fails cleanly; idle ones stop
 * after the keep-alive. Prewarmed spares (generic containers per image) take
 * a function's code on its first call.
 */
export class DockerWarmPool extends WarmPoolBase<Instance> {
  protected readonly plugin = 'docker-sandbox';
  private readonly spares = new Map<string, Instance[]>();
  private readonly targets = new Map<string, PrewarmSpec>();
  private readonly filling = new Map<string, Promise<void>>();

  private readonly watchdog: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly deps: WarmPoolDeps,
    opts: WarmPoolOptions = {},
  ) {
    super(opts);
    if (deps.cpuMs) {
      this.watchdog = setInterval(() => this.watch(), WATCH_MS);
      this.watchdog.unref();
    }
  }

  /**
   * The cgroup holds memory and pids between calls; CPU it only shares out. An
   * instance using CPU while it has no call (a thread its handler left
   * spinning) is killed; the next call starts a fresh one. Off the call path:
   * a call only resets the baseline.
   */
  private watch(): void {
    for (const i of this.instances) {
      if (i.busy || i.dead) continue;
      const cpu = this.deps.cpuMs?.(i.runId);
      if (cpu === undefined) continue;
      if (i.idleCpuMs < 0) i.idleCpuMs = cpu;
      else if (cpu - i.idleCpuMs > IDLE_CPU_MS) {
        this.deps.logger.warn('docker-sandbox: a warm instance used CPU with no call; it is stopped', {
          key: i.key,
          cpu_ms: Math.round(cpu - i.idleCpuMs),
        });
        void this.discard(i);
      }
    }
  }

  override async close(): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
    this.closed = true;
    await Promise.allSettled([...this.filling.values()]);
    const spares = [...this.spares.values()].flat();
    this.spares.clear();
    await Promise.allSettled([super.close(), ...spares.map((i) => this.destroy(i))]);
  }

  /** Keeps `spec.count` generic instances of the image ready; resolves once they are. */
  async prewarm(spec: PrewarmSpec): Promise<void> {
    this.targets.set(spec.image, spec);
    await this.fill(spec.image);
  }

  get spareCount(): number {
    return [...this.spares.values()].reduce((n, l) => n + l.length, 0);
  }

  private fill(image: string): Promise<void> {
    const running = this.filling.get(image);
    if (running) return running;
    const p = (async () => {
      const target = this.targets.get(image);
      while (target && !this.closed && (this.spares.get(image)?.length ?? 0) < target.count) {
        const spec: SandboxRunSpec = {
          image,
          command: target.command,
          codeDir: '',
          outputDir: '',
          env: {},
          timeoutMs: 0,
          memoryMb: target.memoryMb ?? 512,
          network: 'none',
        };
        const spare = await this.launch(spec, '', undefined, target.files ?? {}).catch((err: Error) => {
          this.deps.logger.warn('docker-sandbox: could not prewarm an instance', { image, error: err.message });
          return undefined;
        });
        if (!spare) return;
        if (this.closed) return void (await this.destroy(spare));
        spare.starter = JSON.stringify(target.command);
        this.spares.set(image, [...(this.spares.get(image) ?? []), spare]);
      }
    })().finally(() => this.filling.delete(image));
    this.filling.set(image, p);
    return p;
  }

  /** A prewarmed spare turned into this function's instance: code copied in, limits set, env sent. */
  private async claimSpare(spec: WarmRunSpec, evicted: EvictedRemoval): Promise<Instance | undefined> {
    if (spec.network !== 'none') return undefined;
    const spares = this.spares.get(spec.image);
    const spare = spares?.[0];
    // Only a function whose runtime has this starter: it loaded that runtime's files, and serves its protocol.
    if (!spares || !spare || !spec.prewarm || spare.starter !== JSON.stringify(spec.prewarm)) return undefined;
    spares.shift();
    const diskMb = spec.diskMb ?? DEFAULT_DISK_MB;
    // A spare whose disk quota cannot take the function's goes back for another (this call starts cold).
    if (spare.diskMb !== diskMb && !(await this.deps.resizeDisk?.(spare.runId, diskMb).catch(() => false))) {
      spares.unshift(spare);
      return undefined;
    }
    try {
      // Its own bind-mounted directory: a hard link per file, no tar through the Docker API.
      if (spare.code) await spare.code.fill(spec.codeDir);
      else await spare.container.putArchive(await packCodeDir(spec.codeDir), { path: '/code' });
      // The function's limits where they differ from the spare's (none when they match): written in the
      // container's cgroup before the function's env goes in, so its module already loads under them.
      const cpus = spec.cpus ?? this.deps.defaultCpus ?? 0.5;
      const memory = Math.max(6, Math.floor(spec.memoryMb)) * MiB;
      if (spare.memoryMb !== spec.memoryMb || spare.cpus !== cpus) {
        const limits: InstanceLimits = {
          ...(spare.memoryMb !== spec.memoryMb ? { memoryBytes: memory } : {}),
          ...(spare.cpus !== cpus ? { nanoCpus: Math.round(cpus * 1e9) } : {}),
        };
        const update = {
          ...(limits.memoryBytes !== undefined ? { Memory: memory, MemorySwap: memory } : {}),
          ...(limits.nanoCpus !== undefined ? { NanoCpus: limits.nanoCpus } : {}),
        };
        // The engine's record follows once the first call answered (see call): `docker inspect` tells the truth.
        if (this.deps.setLimits?.(spare.runId, spare.container.id, limits)) spare.engineLimits = update;
        else await spare.container.update(update);
      }
      spare.cpus = cpus;
      // With the call's request, in one write (see callOnce): the starter loads, then serves it at once.
      spare.channel.sendWithNext({ env: spec.env });
      // Refilled after this first call: starting a container (a fifo, a create) takes CPU the call needs now.
      spare.refill = spec.image;
      spare.evicted = evicted;
      spare.key = spec.key;
      spare.memoryMb = spec.memoryMb;
      spare.diskMb = diskMb;
      return spare;
    } catch (err) {
      this.deps.logger.warn('docker-sandbox: a prewarmed instance could not be used', {
        error: (err as Error).message,
      });
      await this.destroy(spare);
      void this.fill(spec.image);
      return undefined;
    }
  }

  protected async start(spec: WarmRunSpec, evicted: EvictedRemoval): Promise<{ instance: Instance; start: StartKind }> {
    // A spare is a container that exists already: taking it adds none, so the evicted one goes after its call.
    const claimed = await this.claimSpare(spec, evicted);
    if (claimed) return { instance: claimed, start: 'prewarmed' };
    await evicted(); // a new container: the one it replaces is removed first
    return {
      instance: await this.launch({ ...spec, command: spec.serveCommand }, spec.key, spec.codeDir),
      start: 'cold',
    };
  }

  /**
   * Creates, fills (when `codeDir` is given), attaches and starts one instance.
   * A spare's own code directory gets the runtime's `files` before it starts.
   */
  private async launch(
    spec: SandboxRunSpec,
    key: string,
    codeDir: string | undefined,
    files: Record<string, string> = {},
  ): Promise<Instance> {
    const runId = randomBytes(8).toString('hex');
    const fifo = this.deps.fifoRoot ? await openFifoChannel(this.deps.fifoRoot) : undefined;
    const patch: Partial<Dockerode.ContainerCreateOptions> = fifo
      ? { HostConfig: { Binds: [`${fifo.dir}:${FIFO_MOUNT}:ro`] } }
      : { StdinOnce: false, OpenStdin: true, AttachStdin: true };
    let container: Dockerode.Container;
    let code: InstanceCodeDir | undefined;
    try {
      code = await this.deps.codeDirs?.create(runId, codeDir ? {} : files);
      container = await this.deps.create(
        { ...spec, command: fifo ? fifo.wrap(spec.command) : spec.command, stdin: '' },
        runId,
        patch,
        code?.dir,
      );
    } catch (err) {
      fifo?.close();
      await code?.release();
      throw err;
    }
    try {
      if (codeDir && code) await code.fill(codeDir);
      else if (codeDir) await container.putArchive(await packCodeDir(codeDir), { path: '/code' });
      const stream = (await container.attach({
        stream: true,
        stdin: !fifo,
        stdout: true,
        stderr: true,
        hijack: true,
      })) as NodeJS.ReadWriteStream & Writable;
      const out = new PassThrough();
      const err = new PassThrough();
      const instance: Instance = {
        key,
        image: spec.image,
        memoryMb: spec.memoryMb,
        cpus: spec.cpus ?? this.deps.defaultCpus ?? 0.5,
        diskMb: spec.diskMb ?? DEFAULT_DISK_MB,
        idleCpuMs: -1,
        runId,
        container,
        // Over the attach stream, stderr is relayed apart from the answer: the server ends each call's with a mark.
        channel: fifo ? new WarmChannel(fifo.output, fifo.input) : new WarmChannel(out, stream, undefined, true),
        stdin: fifo ? fifo.input : stream,
        stderr: new WarmStderr(spec.maxStderrBytes ?? MiB),
        fifo,
        code,
        busy: false,
        dead: false,
        lastUsed: Date.now(),
      };
      // The named pipe is read by its fd once the answer is in; over the attach stream, stderr waits for the mark.
      instance.stderr.attach(fifo ? fifo.errors : err, fifo?.errorsFd);
      // With the pipes, the attach stream's stderr is what the shell says before they open.
      if (fifo) err.on('data', (c: Buffer) => instance.stderr.write(c));
      container.modem.demuxStream(stream, out, err);
      // The attach stream ends with the container, pipes or not: that is how a crash is seen.
      const ended = (): void => {
        instance.dead = true;
        instance.channel.end();
      };
      stream.on('end', ended);
      stream.on('close', ended);
      stream.on('error', ended);
      await container.start();
      // Its cgroup exists once it started: opened now, a spare's first call does not wait for it.
      instance.peak = (await this.deps.peakMeter?.(runId)) ?? null;
      return instance;
    } catch (err) {
      fifo?.close();
      await this.deps.remove(container, runId);
      await code?.release();
      throw err instanceof NanoGridError
        ? err
        : new NanoGridError('SANDBOX_ERROR', `starting a warm instance failed: ${(err as Error).message}`, {
            plugin: this.plugin,
            cause: err,
          });
    }
  }

  protected async call(i: Instance, spec: WarmRunSpec): Promise<Omit<WarmRunResult, 'start'>> {
    const refill = i.refill;
    const evicted = i.evicted;
    const engineLimits = i.engineLimits;
    i.refill = undefined;
    i.evicted = undefined;
    i.engineLimits = undefined;
    try {
      return await this.callOnce(i, spec);
    } finally {
      // A claimed spare's image gets a new spare once its first call is over (see claimSpare), and once
      // the answer went out: the refill's first steps run on this event loop.
      // A new container only once the one evicted for this claim is gone: the worker's count of containers holds.
      if (refill) setImmediate(() => void (evicted?.() ?? Promise.resolve()).then(() => this.fill(refill)));
      // The same values the cgroup holds already (a gone instance has nothing left to update).
      if (engineLimits) setImmediate(() => void i.container.update(engineLimits).catch(() => undefined));
    }
  }

  private async callOnce(i: Instance, spec: WarmRunSpec): Promise<Omit<WarmRunResult, 'start'>> {
    i.idleCpuMs = -1; // the watchdog takes its baseline at its next look after this call
    i.stderr.reset(spec.maxStderrBytes ?? MiB, spec.onOutput);
    if (i.peak === undefined) i.peak = (await this.deps.peakMeter?.(i.runId)) ?? null;
    const peak = i.peak;
    if (peak)
      i.peakRearm ??= new PeakRearm(
        () => peak.reset(),
        () => !i.busy && !i.dead,
      );
    i.peakRearm?.beforeCall();
    const t0 = Date.now();
    let timedOut = false;
    const kill = (): void => {
      i.dead = true;
      void i.container.kill().catch(() => undefined);
    };
    // Cancelled while it waited for this instance: the event has already fired.
    if (spec.signal?.aborted) kill();
    // The request goes out first (`call` writes it before its first await); the watchers below are armed in the
    // same turn, before any event can be handled, while the instance already works on the call.
    const exchange = i.channel.call(spec.invocationEnv, spec.onOutput);
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, spec.timeoutMs);
    spec.signal?.addEventListener('abort', kill, { once: true });
    let answer: WarmExchange;
    try {
      answer = await exchange;
    } finally {
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', kill);
    }
    const peakMemoryBytes = i.peak?.read();
    i.peakRearm?.afterRead();
    // The named pipe holds all the call wrote to stderr (read now, whatever the end); the attach stream's may trail.
    const unread = answer.kind === 'answered' ? answer.meta.stderr : undefined;
    await i.stderr.collect(answer.kind === 'answered', unread, 1000);
    // Assignments, not a conditional spread: built per call, and spreads cost V8 ~25× more here (~3 µs, measured).
    const base: BaseResult = {
      stderr: i.stderr.toString(),
      stdoutTruncated: false,
      stderrTruncated: i.stderr.truncated,
      durationMs: Date.now() - t0,
      timedOut,
    };
    if (peakMemoryBytes !== undefined) base.peakMemoryBytes = peakMemoryBytes;
    if (answer.kind === 'garbage') {
      i.dead = true;
      return { ...base, exitCode: null, signal: null, stdout: '', oomKilled: false, protocolError: answer.message };
    }
    if (answer.kind === 'ended') {
      // Killed at its deadline, out of memory, or crashed.
      i.dead = true;
      const state = await i.container
        .wait()
        .then(() => i.container.inspect())
        .then((s) => s.State)
        .catch(() => undefined);
      const oomKilled = !timedOut && (state?.OOMKilled === true || state?.ExitCode === 137);
      const signalled = timedOut || oomKilled;
      return {
        ...base,
        exitCode: signalled ? null : (state?.ExitCode ?? null),
        signal: signalled ? 'SIGKILL' : null,
        stdout: '',
        oomKilled,
      };
    }
    const { meta, resultLine } = answer;
    if ((meta.outputs ?? 0) > 0) {
      // Frozen (cgroup freezer) while copied: threads the call left running cannot change /output under the copy.
      const frozen = await i.container.pause().then(
        () => true,
        () => false,
      );
      try {
        await extractOutputArchive(await i.container.getArchive({ path: '/output' }), spec.outputDir, {
          maxBytes: this.opts.maxOutputBytes ?? 256 * MiB,
          maxEntries: this.opts.maxOutputFiles ?? MAX_OUTPUT_FILES,
        });
      } finally {
        // An instance that cannot be thawed is not used again.
        if (frozen) await i.container.unpause().catch(() => (i.dead = true));
      }
    }
    return Object.assign(base, answeredRun(meta, resultLine));
  }

  protected async destroy(i: Instance): Promise<void> {
    i.dead = true;
    i.peak?.close();
    i.stdin.destroy();
    await this.deps.remove(i.container, i.runId);
    i.fifo?.close();
    await i.code?.release();
  }
}

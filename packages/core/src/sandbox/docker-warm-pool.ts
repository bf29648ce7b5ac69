import { randomBytes } from 'node:crypto';
import { PassThrough, type Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import type Dockerode from 'dockerode';
import { NanoGridError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { StartKind } from '../job.js';
import { META_MARKER, RESULT_MARKER } from '../plugins/runtime-plugin.js';
import type { PrewarmSpec, SandboxRunSpec, WarmRunResult, WarmRunSpec } from '../plugins/sandbox.js';
import { CappedBuffer } from './capped-buffer.js';
import { extractOutputArchive, packCodeDir } from './docker-archive.js';
import type { PeakWindow } from './docker-memory.js';

export interface WarmPoolOptions {
  /** Idle instances are stopped after this long. @default 60_000 */
  keepAliveMs?: number;
  /** Instances of one function version at most. @default 4 */
  maxPerKey?: number;
  /** Instances of this worker at most (idle ones of other functions make room). @default 16 */
  maxTotal?: number;
  /** Bytes copied out of /output per invocation. @default 256 MiB */
  maxOutputBytes?: number;
}

/** What the pool needs from the Docker sandbox around it. */
export interface WarmPoolDeps {
  /** Creates a hardened container for `spec` (labels, limits, network), not started. */
  create(spec: SandboxRunSpec, runId: string, patch: Partial<Dockerode.ContainerCreateOptions>): Promise<Dockerode.Container>;
  /** Removes a container and what belongs to its run. */
  remove(container: Dockerode.Container, runId: string): Promise<void>;
  /** Starts measuring the instance's peak memory for one invocation; absent when cgroups cannot be read. */
  peakWindow?(runId: string): Promise<PeakWindow | undefined>;
  logger: Logger;
}

interface Instance {
  /** '' while it is a prewarmed spare. */
  key: string;
  image: string;
  memoryMb: number;
  runId: string;
  container: Dockerode.Container;
  stdin: Writable;
  stderr: CappedBuffer;
  /** Lines of stdout not yet taken, and who waits for the next one. */
  lines: string[];
  waiter: ((line: string | undefined) => void) | undefined;
  busy: boolean;
  dead: boolean;
  lastUsed: number;
}

const MiB = 1024 * 1024;

/**
 * Warm instances in Docker: one container per function version runs the
 * runtime's serve command, keeps the function loaded and answers one request
 * line per invocation. An instance that times out, runs out of memory, dies or
 * writes garbage is removed and the invocation fails cleanly; idle ones stop
 * after the keep-alive.
 */
export class DockerWarmPool {
  private readonly instances = new Set<Instance>();
  /** Prewarmed generic instances per image, and how many each image should have. */
  private readonly spares = new Map<string, Instance[]>();
  private readonly targets = new Map<string, PrewarmSpec>();
  private readonly filling = new Map<string, Promise<void>>();
  private closed = false;
  private readonly reaper: ReturnType<typeof setInterval>;
  private readonly keepAliveMs: number;

  constructor(
    private readonly deps: WarmPoolDeps,
    private readonly opts: WarmPoolOptions = {},
  ) {
    this.keepAliveMs = opts.keepAliveMs ?? 60_000;
    this.reaper = setInterval(() => void this.reap(), Math.min(this.keepAliveMs, 5000));
    this.reaper.unref();
  }

  get size(): number {
    return this.instances.size;
  }

  async run(spec: WarmRunSpec): Promise<WarmRunResult> {
    let instance = [...this.instances].find((i) => i.key === spec.key && !i.busy && !i.dead);
    let start: StartKind = 'warm';
    if (!instance) ({ instance, start } = await this.startInstance(spec));
    instance.busy = true;
    try {
      return { ...(await this.invoke(instance, spec)), start };
    } finally {
      instance.busy = false;
      instance.lastUsed = Date.now();
      if (instance.dead) await this.discard(instance);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.reaper);
    await Promise.allSettled([...this.filling.values()]);
    const spares = [...this.spares.values()].flat();
    this.spares.clear();
    await Promise.allSettled([...this.instances, ...spares].map((i) => this.discard(i, true)));
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
        const spec: SandboxRunSpec = { image, command: target.command, codeDir: '', outputDir: '', env: {}, timeoutMs: 0, memoryMb: target.memoryMb ?? 512, network: 'none' };
        const spare = await this.launch(spec, '', undefined).catch((err: Error) => {
          this.deps.logger.warn('docker-sandbox: could not prewarm an instance', { image, error: err.message });
          return undefined;
        });
        if (!spare) return;
        if (this.closed) return void (await this.discard(spare, true));
        this.spares.set(image, [...(this.spares.get(image) ?? []), spare]);
      }
    })().finally(() => this.filling.delete(image));
    this.filling.set(image, p);
    return p;
  }

  /** A prewarmed spare turned into this function's instance: code copied in, limits set, env sent. */
  private async claimSpare(spec: WarmRunSpec): Promise<Instance | undefined> {
    if (spec.network !== 'none') return undefined;
    const spare = this.spares.get(spec.image)?.shift();
    if (!spare) return undefined;
    void this.fill(spec.image); // refilled in the background
    try {
      await spare.container.putArchive(await packCodeDir(spec.codeDir), { path: '/code' });
      if (spare.memoryMb !== spec.memoryMb) {
        const memory = Math.max(6, Math.floor(spec.memoryMb)) * MiB;
        await spare.container.update({ Memory: memory, MemorySwap: memory });
      }
      spare.stdin.write(`${JSON.stringify({ env: spec.env })}\n`);
      spare.key = spec.key;
      spare.memoryMb = spec.memoryMb;
      this.instances.add(spare);
      return spare;
    } catch (err) {
      this.deps.logger.warn('docker-sandbox: a prewarmed instance could not be used', { error: (err as Error).message });
      await this.discard(spare, true);
      return undefined;
    }
  }

  private async startInstance(spec: WarmRunSpec): Promise<{ instance: Instance; start: StartKind }> {
    await this.makeRoom(spec.key);
    const claimed = await this.claimSpare(spec);
    if (claimed) return { instance: claimed, start: 'prewarmed' };
    const instance = await this.launch({ ...spec, command: spec.serveCommand }, spec.key, spec.codeDir);
    this.instances.add(instance);
    return { instance, start: 'cold' };
  }

  /** Creates, fills (when `codeDir` is given), attaches and starts one instance. */
  private async launch(spec: SandboxRunSpec, key: string, codeDir: string | undefined): Promise<Instance> {
    const runId = randomBytes(8).toString('hex');
    const container = await this.deps.create({ ...spec, stdin: '' }, runId, { StdinOnce: false, OpenStdin: true, AttachStdin: true });
    try {
      if (codeDir) await container.putArchive(await packCodeDir(codeDir), { path: '/code' });
      const stream = (await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as NodeJS.ReadWriteStream & Writable;
      const out = new PassThrough();
      const instance: Instance = {
        key,
        image: spec.image,
        memoryMb: spec.memoryMb,
        runId,
        container,
        stdin: stream,
        stderr: new CappedBuffer(spec.maxStderrBytes ?? MiB, 'tail'),
        lines: [],
        waiter: undefined,
        busy: false,
        dead: false,
        lastUsed: Date.now(),
      };
      const err = new PassThrough();
      err.on('data', (c: Buffer) => instance.stderr.write(c));
      container.modem.demuxStream(stream, out, err);
      const rl = createInterface({ input: out, crlfDelay: Infinity });
      rl.on('line', (line) => {
        if (instance.waiter) {
          const w = instance.waiter;
          instance.waiter = undefined;
          w(line);
        } else instance.lines.push(line);
      });
      const ended = (): void => {
        instance.dead = true;
        const w = instance.waiter;
        instance.waiter = undefined;
        w?.(undefined);
      };
      stream.on('end', ended);
      stream.on('close', ended);
      stream.on('error', ended);
      await container.start();
      return instance;
    } catch (err) {
      await this.deps.remove(container, runId);
      throw err instanceof NanoGridError ? err : new NanoGridError('SANDBOX_ERROR', `starting a warm instance failed: ${(err as Error).message}`, { plugin: 'docker-sandbox', cause: err });
    }
  }

  /** The next stdout line, or undefined when the instance ended. */
  private nextLine(i: Instance): Promise<string | undefined> {
    const queued = i.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (i.dead) return Promise.resolve(undefined);
    return new Promise((resolve) => (i.waiter = resolve));
  }

  private async invoke(i: Instance, spec: WarmRunSpec): Promise<Omit<WarmRunResult, 'start'>> {
    i.stderr = new CappedBuffer(spec.maxStderrBytes ?? MiB, 'tail');
    const peak = await this.deps.peakWindow?.(i.runId);
    const t0 = Date.now();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      i.dead = true;
      void i.container.kill().catch(() => undefined);
    }, spec.timeoutMs);
    const onAbort = (): void => void i.container.kill().catch(() => undefined);
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    let meta: { logs?: string; outputs?: number } | undefined;
    let resultLine: string | undefined;
    let protocolError: string | undefined;
    try {
      i.stdin.write(`${JSON.stringify({ env: spec.invocationEnv })}\n`);
      const first = await this.nextLine(i);
      const second = first?.startsWith(META_MARKER) ? await this.nextLine(i) : undefined;
      if (first !== undefined && !first.startsWith(META_MARKER)) protocolError = `the warm instance wrote a line that is not the protocol's: ${first.slice(0, 200)}`;
      else if (second !== undefined && !second.startsWith(RESULT_MARKER)) protocolError = `the warm instance wrote a line that is not a result: ${second.slice(0, 200)}`;
      else if (first !== undefined && second !== undefined) {
        meta = JSON.parse(first.slice(META_MARKER.length)) as typeof meta;
        resultLine = second;
      }
    } catch (err) {
      protocolError = `the warm instance's answer could not be read: ${(err as Error).message}`;
    } finally {
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onAbort);
    }
    const durationMs = Date.now() - t0;
    const peakMemoryBytes = await peak?.read();
    const base = {
      ...(peakMemoryBytes !== undefined ? { peakMemoryBytes } : {}),
      stderr: i.stderr.toString(), stdoutTruncated: false, stderrTruncated: i.stderr.truncated, durationMs, timedOut,
    };
    if (protocolError) {
      i.dead = true;
      return { ...base, exitCode: null, signal: null, stdout: '', oomKilled: false, protocolError };
    }
    if (resultLine === undefined) {
      // The instance ended: killed at its deadline, out of memory, or crashed.
      i.dead = true;
      const state = await i.container
        .wait()
        .then(() => i.container.inspect())
        .then((s) => s.State)
        .catch(() => undefined);
      const oomKilled = !timedOut && (state?.OOMKilled === true || state?.ExitCode === 137);
      const signalled = timedOut || oomKilled;
      return { ...base, exitCode: signalled ? null : (state?.ExitCode ?? null), signal: signalled ? 'SIGKILL' : null, stdout: '', oomKilled };
    }
    if ((meta?.outputs ?? 0) > 0) {
      await extractOutputArchive(await i.container.getArchive({ path: '/output' }), spec.outputDir, { maxBytes: this.opts.maxOutputBytes ?? 256 * MiB, maxEntries: 10_000 });
    }
    const logs = meta?.logs ?? '';
    return { ...base, exitCode: 0, signal: null, stdout: `${logs}${logs && !logs.endsWith('\n') ? '\n' : ''}${resultLine}\n`, oomKilled: false, outputCount: meta?.outputs ?? 0 };
  }

  /** Stops idle instances of other keys when the worker is at its cap. */
  private async makeRoom(key: string): Promise<void> {
    const live = [...this.instances].filter((i) => !i.dead);
    const sameKey = live.filter((i) => i.key === key).length;
    if (sameKey >= (this.opts.maxPerKey ?? 4)) {
      throw new NanoGridError('TOO_MANY_REQUESTS', `function at its ${this.opts.maxPerKey ?? 4} warm instances on this worker`, { plugin: 'docker-sandbox' });
    }
    if (live.length < (this.opts.maxTotal ?? 16)) return;
    const idle = live.filter((i) => !i.busy).sort((a, b) => a.lastUsed - b.lastUsed)[0];
    if (!idle) throw new NanoGridError('TOO_MANY_REQUESTS', 'every warm instance of this worker is busy', { plugin: 'docker-sandbox' });
    await this.discard(idle);
  }

  private async reap(): Promise<void> {
    const now = Date.now();
    for (const i of [...this.instances]) if (!i.busy && (i.dead || now - i.lastUsed > this.keepAliveMs)) await this.discard(i);
  }

  private async discard(i: Instance, force = false): Promise<void> {
    if (!this.instances.delete(i) && !force) return;
    i.dead = true;
    i.stdin.destroy();
    await this.deps.remove(i.container, i.runId);
  }
}

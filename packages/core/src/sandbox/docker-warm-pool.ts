import { randomBytes } from 'node:crypto';
import { PassThrough, type Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import type Dockerode from 'dockerode';
import { NanoGridError } from '../errors.js';
import type { Logger } from '../logger.js';
import { META_MARKER, RESULT_MARKER } from '../plugins/runtime-plugin.js';
import type { SandboxRunSpec, WarmRunResult, WarmRunSpec } from '../plugins/sandbox.js';
import { CappedBuffer } from './capped-buffer.js';
import { extractOutputArchive, packCodeDir } from './docker-archive.js';

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
  logger: Logger;
}

interface Instance {
  key: string;
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
    const start = instance ? 'warm' : 'cold';
    if (!instance) instance = await this.startInstance(spec);
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
    clearInterval(this.reaper);
    await Promise.allSettled([...this.instances].map((i) => this.discard(i)));
  }

  private async startInstance(spec: WarmRunSpec): Promise<Instance> {
    await this.makeRoom(spec.key);
    const runId = randomBytes(8).toString('hex');
    const container = await this.deps.create({ ...spec, command: spec.serveCommand, stdin: '' }, runId, { StdinOnce: false, OpenStdin: true, AttachStdin: true });
    try {
      await container.putArchive(await packCodeDir(spec.codeDir), { path: '/code' });
      const stream = (await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as NodeJS.ReadWriteStream & Writable;
      const out = new PassThrough();
      const instance: Instance = {
        key: spec.key,
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
      this.instances.add(instance);
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
    const base = { stderr: i.stderr.toString(), stdoutTruncated: false, stderrTruncated: i.stderr.truncated, durationMs, timedOut };
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
    return { ...base, exitCode: 0, signal: null, stdout: `${logs}${logs && !logs.endsWith('\n') ? '\n' : ''}${resultLine}\n`, oomKilled: false };
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

  private async discard(i: Instance): Promise<void> {
    if (!this.instances.delete(i)) return;
    i.dead = true;
    i.stdin.destroy();
    await this.deps.remove(i.container, i.runId);
  }
}

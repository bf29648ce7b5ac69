import { NanoGridError } from '../errors.js';
import type { StartKind } from '../job.js';
import type { WarmRunResult, WarmRunSpec } from '../plugins/sandbox.js';

/** Caps and keep-alive of a sandbox's warm instances. */
export interface WarmPoolOptions {
  /** Idle instances are stopped after this long. @default 60_000 */
  keepAliveMs?: number;
  /** Instances of one function version at most. @default 4 */
  maxPerKey?: number;
  /** Instances of this worker at most (idle ones of other functions make room). @default 16 */
  maxTotal?: number;
  /** Bytes copied out of /output per invocation. @default 256 MiB */
  maxOutputBytes?: number;
  /** Files and directories copied out of /output per invocation. @default MAX_OUTPUT_FILES (10,000) */
  maxOutputFiles?: number;
}

/** What the pool tracks of any instance, container or process. */
export interface WarmInstance {
  /** Function version it serves ('' while it is a prewarmed spare). */
  key: string;
  busy: boolean;
  /** Broken or gone: never handed out again. */
  dead: boolean;
  lastUsed: number;
}

/**
 * The bookkeeping every warm pool shares: reuse an idle instance of the same
 * key, start one when there is none (within the per-worker cap, stopping the
 * least recently used idle instance of another key to make room), and at the
 * per-key cap wait for one of the key's instances, handed over in arrival
 * order. Broken instances are discarded after their call, idle ones stop
 * after the keep-alive. Subclasses start, call and destroy instances.
 */
export abstract class WarmPoolBase<I extends WarmInstance> {
  protected readonly instances = new Set<I>();
  /** Instances being started, per key: counted against the caps before they exist. */
  private readonly starting = new Map<string, number>();
  private startingTotal = 0;
  /** Calls waiting for an instance of their key (the key at `maxPerKey`), in arrival order. */
  private readonly waiters = new Map<string, ((i: I | undefined) => void)[]>();
  protected closed = false;
  private readonly reaper: ReturnType<typeof setInterval>;
  protected readonly keepAliveMs: number;

  protected readonly opts: WarmPoolOptions;

  constructor(opts: WarmPoolOptions) {
    this.opts = { ...opts }; // setMaxTotal changes it: never the caller's object
    this.keepAliveMs = opts.keepAliveMs ?? 60_000;
    this.reaper = setInterval(() => void this.reap(), Math.min(this.keepAliveMs, 5000));
    this.reaper.unref();
  }

  /** Live instances of this worker. */
  get size(): number {
    return this.instances.size;
  }

  /** Changes the per-worker cap (the autoscaler follows local concurrency with it). */
  setMaxTotal(n: number): void {
    this.opts.maxTotal = Math.max(1, Math.floor(n));
  }

  get maxTotal(): number {
    return this.opts.maxTotal ?? 16;
  }

  async run(spec: WarmRunSpec): Promise<WarmRunResult> {
    let instance: I | undefined;
    let start: StartKind = 'warm';
    while (!instance) {
      if (this.closed) throw new NanoGridError('SHUTTING_DOWN', 'the sandbox is closing', { plugin: this.plugin });
      instance = this.idle(spec.key);
      if (instance) break;
      if (this.keyCount(spec.key) < this.maxPerKey) {
        ({ instance, start } = await this.startCounted(spec));
        this.instances.add(instance);
        break;
      }
      // At the function's cap: wait for one of its instances (about a call's time), never start cold.
      instance = await this.nextFree(spec);
    }
    instance.busy = true;
    try {
      return { ...(await this.call(instance, spec)), start };
    } finally {
      instance.lastUsed = Date.now();
      if (instance.dead) await this.discard(instance);
      else this.handOver(instance);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.waiters.values()) for (const w of q.splice(0)) w(undefined); // they see `closed`
    clearInterval(this.reaper);
    await Promise.allSettled([...this.instances].map((i) => this.discard(i)));
  }

  protected abstract readonly plugin: string;
  /**
   * Starts an instance for `spec` (or adopts a prewarmed one). `room` resolves once the instance stopped to make
   * room for this start is gone (at once when none was): await it before creating anything that takes resources.
   * Adopting an instance that already exists needs no wait.
   */
  protected abstract start(spec: WarmRunSpec, room: Promise<void>): Promise<{ instance: I; start: StartKind }>;
  /** One invocation; marks the instance dead when it must not serve again. */
  protected abstract call(instance: I, spec: WarmRunSpec): Promise<Omit<WarmRunResult, 'start'>>;
  /** Stops an instance and frees what it holds. Never throws. */
  protected abstract destroy(instance: I): Promise<void>;

  protected async discard(i: I): Promise<void> {
    if (!this.instances.delete(i)) return;
    i.dead = true;
    this.wake(i.key);
    await this.destroy(i);
  }

  private idle(key: string): I | undefined {
    for (const i of this.instances) if (i.key === key && !i.busy && !i.dead) return i;
    return undefined;
  }

  /** Live and starting instances of a key. */
  private keyCount(key: string): number {
    let n = this.starting.get(key) ?? 0;
    for (const i of this.instances) if (i.key === key && !i.dead) n++;
    return n;
  }

  private get maxPerKey(): number {
    return this.opts.maxPerKey ?? 4;
  }

  /** Counts the start against the caps from the first moment (no await before), makes room, starts. */
  private async startCounted(spec: WarmRunSpec): Promise<{ instance: I; start: StartKind }> {
    this.starting.set(spec.key, (this.starting.get(spec.key) ?? 0) + 1);
    this.startingTotal++;
    let started = false;
    try {
      const r = await this.start(spec, this.makeRoom());
      started = true;
      return r;
    } finally {
      this.starting.set(spec.key, (this.starting.get(spec.key) ?? 1) - 1);
      if (this.starting.get(spec.key) === 0) this.starting.delete(spec.key);
      this.startingTotal--;
      if (!started) this.wake(spec.key); // a failed start frees a place for a waiter
    }
  }

  /** Waits for an instance of the key to be handed over (busy already), or for room to start one (undefined). */
  private nextFree(spec: WarmRunSpec): Promise<I | undefined> {
    return new Promise<I | undefined>((resolve, reject) => {
      const q = this.waiters.get(spec.key) ?? [];
      const onAbort = (): void => {
        const at = q.indexOf(waiter);
        if (at >= 0) q.splice(at, 1);
        if (q.length === 0 && this.waiters.get(spec.key) === q) this.waiters.delete(spec.key);
        reject(
          new NanoGridError('SHUTTING_DOWN', 'the run was cancelled while it waited for a warm instance', {
            plugin: this.plugin,
          }),
        );
      };
      const waiter = (i: I | undefined): void => {
        spec.signal?.removeEventListener('abort', onAbort);
        resolve(i);
      };
      q.push(waiter);
      this.waiters.set(spec.key, q);
      spec.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A finished call's instance goes straight to the next waiter of its key, in arrival order. */
  private handOver(i: I): void {
    const next = this.nextWaiter(i.key);
    if (!next) {
      i.busy = false;
      return;
    }
    next(i);
  }

  /** An instance of the key went away (or never started): the next waiter may start one. */
  private wake(key: string): void {
    this.nextWaiter(key)?.(undefined);
  }

  private nextWaiter(key: string): ((i: I | undefined) => void) | undefined {
    const q = this.waiters.get(key);
    const next = q?.shift();
    if (q?.length === 0) this.waiters.delete(key);
    return next;
  }

  /**
   * At the worker's total cap, stops the least recently used idle instance: it leaves the pool at once (never
   * handed out again, no longer counted: its place is the asking start's, counted in `starting`), and the
   * promise says when it is gone. Its removal (~90 ms for a container) is not waited for here: a start that
   * adopts a prewarmed instance adds nothing, one that creates an instance waits for it (see `start`).
   */
  private makeRoom(): Promise<void> {
    const live = [...this.instances].filter((i) => !i.dead);
    if (live.length + this.startingTotal - 1 < this.maxTotal) return Promise.resolve(); // - 1: the start asking
    const idle = live.filter((i) => !i.busy).sort((a, b) => a.lastUsed - b.lastUsed)[0];
    if (!idle)
      throw new NanoGridError('TOO_MANY_REQUESTS', 'every warm instance of this worker is busy', {
        plugin: this.plugin,
      });
    return this.discard(idle);
  }

  private async reap(): Promise<void> {
    const now = Date.now();
    for (const i of [...this.instances])
      if (!i.busy && (i.dead || now - i.lastUsed > this.keepAliveMs)) await this.discard(i);
  }
}

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

/**
 * Removes the instance evicted to make room for a start (at most once, whoever calls it) and resolves once it is
 * gone; resolves at once when no instance was evicted.
 */
export type EvictedRemoval = () => Promise<void>;

const NOTHING_EVICTED: EvictedRemoval = () => Promise.resolve();

/**
 * Longest an evicted instance waits for the first call of the start it made room for: out of the pool it is out
 * of the idle watchdogs too (CPU, memory between calls), so a long first call must not keep it alive unwatched.
 */
const EVICTED_MAX_WAIT_MS = 500;

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
  /** Removals of evicted instances not started yet (close starts them). */
  private readonly evictions = new Set<EvictedRemoval>();
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
    let evicted: EvictedRemoval | undefined;
    while (!instance) {
      if (this.closed) throw new NanoGridError('SHUTTING_DOWN', 'the sandbox is closing', { plugin: this.plugin });
      instance = this.idle(spec.key);
      if (instance) break;
      if (this.keyCount(spec.key) < this.maxPerKey) {
        ({ instance, start, evicted } = await this.startCounted(spec));
        this.instances.add(instance);
        break;
      }
      // At the function's cap: wait for one of its instances (about a call's time), never start cold.
      instance = await this.nextFree(spec);
    }
    instance.busy = true;
    const late = evicted && evicted !== NOTHING_EVICTED ? setTimeout(evicted, EVICTED_MAX_WAIT_MS) : undefined;
    try {
      return Object.assign(await this.call(instance, spec), { start }); // the call's own object: no spread copy
    } finally {
      clearTimeout(late);
      instance.lastUsed = Date.now();
      // An instance evicted for this start and not removed yet (the start adopted one) goes once the answer left.
      if (evicted) setImmediate(() => void evicted?.());
      if (instance.dead) await this.discard(instance);
      else this.handOver(instance);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.waiters.values()) for (const w of q.splice(0)) w(undefined); // they see `closed`
    clearInterval(this.reaper);
    await Promise.allSettled([
      ...[...this.evictions].map((remove) => remove()),
      ...[...this.instances].map((i) => this.discard(i)),
    ]);
  }

  protected abstract readonly plugin: string;
  /**
   * Starts an instance for `spec` (or adopts a prewarmed one). `evicted` removes the instance evicted to make
   * room for this start: await it before creating anything that takes resources. Adopting an instance that
   * already exists need not call it: the pool removes the evicted one once the first call answered (its removal,
   * ~90 ms of a container engine's work, would compete with that call for the CPU).
   */
  protected abstract start(spec: WarmRunSpec, evicted: EvictedRemoval): Promise<{ instance: I; start: StartKind }>;
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
  private async startCounted(spec: WarmRunSpec): Promise<{ instance: I; start: StartKind; evicted: EvictedRemoval }> {
    this.starting.set(spec.key, (this.starting.get(spec.key) ?? 0) + 1);
    this.startingTotal++;
    let started = false;
    let evicted: EvictedRemoval | undefined;
    try {
      evicted = this.makeRoom();
      const r = await this.start(spec, evicted);
      started = true;
      return { ...r, evicted };
    } finally {
      if (!started) void evicted?.();
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
   * At the worker's total cap, evicts the least recently used idle instance: it leaves the pool at once (never
   * handed out again, no longer counted: its place is the asking start's, counted in `starting`). What is
   * returned removes it (see `start`).
   */
  private makeRoom(): EvictedRemoval {
    const live = [...this.instances].filter((i) => !i.dead);
    if (live.length + this.startingTotal - 1 < this.maxTotal) return NOTHING_EVICTED; // - 1: the start asking
    const idle = live.filter((i) => !i.busy).sort((a, b) => a.lastUsed - b.lastUsed)[0];
    if (!idle)
      throw new NanoGridError('TOO_MANY_REQUESTS', 'every warm instance of this worker is busy', {
        plugin: this.plugin,
      });
    this.instances.delete(idle);
    idle.dead = true;
    this.wake(idle.key);
    let gone: Promise<void> | undefined;
    const remove: EvictedRemoval = () => {
      this.evictions.delete(remove);
      gone ??= this.destroy(idle);
      return gone;
    };
    this.evictions.add(remove);
    return remove;
  }

  private async reap(): Promise<void> {
    const now = Date.now();
    for (const i of [...this.instances])
      if (!i.busy && (i.dead || now - i.lastUsed > this.keepAliveMs)) await this.discard(i);
  }
}

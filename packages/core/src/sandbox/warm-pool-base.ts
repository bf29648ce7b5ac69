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
 * key, start one when there is none (within the per-key and per-worker caps,
 * stopping the least recently used idle instance of another key to make
 * room), discard broken ones after their call, stop idle ones after the
 * keep-alive. Subclasses start, call and destroy instances.
 */
export abstract class WarmPoolBase<I extends WarmInstance> {
  protected readonly instances = new Set<I>();
  /** Instances being started, per key: counted against the caps before they exist. */
  private readonly starting = new Map<string, number>();
  private startingTotal = 0;
  protected closed = false;
  private readonly reaper: ReturnType<typeof setInterval>;
  protected readonly keepAliveMs: number;

  constructor(protected readonly opts: WarmPoolOptions) {
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
    if (this.closed) throw new NanoGridError('SHUTTING_DOWN', 'the sandbox is closing', { plugin: this.plugin });
    let instance = this.idle(spec.key);
    let start: StartKind = 'warm';
    if (!instance) {
      await this.makeRoom(spec.key);
      this.starting.set(spec.key, (this.starting.get(spec.key) ?? 0) + 1);
      this.startingTotal++;
      try {
        ({ instance, start } = await this.start(spec));
      } finally {
        this.starting.set(spec.key, (this.starting.get(spec.key) ?? 1) - 1);
        if (this.starting.get(spec.key) === 0) this.starting.delete(spec.key);
        this.startingTotal--;
      }
      this.instances.add(instance);
    }
    instance.busy = true;
    try {
      return { ...(await this.call(instance, spec)), start };
    } finally {
      instance.busy = false;
      instance.lastUsed = Date.now();
      if (instance.dead) await this.discard(instance);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.reaper);
    await Promise.allSettled([...this.instances].map((i) => this.discard(i)));
  }

  protected abstract readonly plugin: string;
  /** Starts an instance for `spec` (or adopts a prewarmed one). */
  protected abstract start(spec: WarmRunSpec): Promise<{ instance: I; start: StartKind }>;
  /** One invocation; marks the instance dead when it must not serve again. */
  protected abstract call(instance: I, spec: WarmRunSpec): Promise<Omit<WarmRunResult, 'start'>>;
  /** Stops an instance and frees what it holds. Never throws. */
  protected abstract destroy(instance: I): Promise<void>;

  protected async discard(i: I): Promise<void> {
    if (!this.instances.delete(i)) return;
    i.dead = true;
    await this.destroy(i);
  }

  private idle(key: string): I | undefined {
    for (const i of this.instances) if (i.key === key && !i.busy && !i.dead) return i;
    return undefined;
  }

  private async makeRoom(key: string): Promise<void> {
    const live = [...this.instances].filter((i) => !i.dead);
    const maxPerKey = this.opts.maxPerKey ?? 4;
    if (live.filter((i) => i.key === key).length + (this.starting.get(key) ?? 0) >= maxPerKey) {
      throw new NanoGridError('TOO_MANY_REQUESTS', `function at its ${maxPerKey} warm instances on this worker`, { plugin: this.plugin });
    }
    if (live.length + this.startingTotal < this.maxTotal) return;
    const idle = live.filter((i) => !i.busy).sort((a, b) => a.lastUsed - b.lastUsed)[0];
    if (!idle) throw new NanoGridError('TOO_MANY_REQUESTS', 'every warm instance of this worker is busy', { plugin: this.plugin });
    await this.discard(idle);
  }

  private async reap(): Promise<void> {
    const now = Date.now();
    for (const i of [...this.instances]) if (!i.busy && (i.dead || now - i.lastUsed > this.keepAliveMs)) await this.discard(i);
  }
}

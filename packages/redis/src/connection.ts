import type { Writable } from 'node:stream';
import type { Redis, RedisOptions } from 'ioredis';
import { NanoGridError } from '@nanogrid/core';
import { toBackendError, unavailable } from './backend-error.js';
import type { RedisErrorContext } from './backend-error.js';

/** A Redis URL, ioredis options, or a client you already have. */
export type RedisConnection = string | RedisOptions | Redis;

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_KEY_PREFIX = 'nanogrid:';

/** Options every NanoGrid Redis plugin shares. */
export interface RedisConnectionOptions {
  /**
   * Where Redis is: a URL (`redis://:password@host:6379/0`), ioredis options,
   * or an ioredis client you own. A client you pass is used as is and never
   * closed by `close()`; the extra connections NanoGrid needs (blocking reads,
   * pub/sub) are duplicated from it and closed.
   * @default 'redis://127.0.0.1:6379'
   */
  connection?: RedisConnection;
  /**
   * Prefix of every key written, so deployments (and tests) can share a server.
   * Applied by NanoGrid itself; a `keyPrefix` inside ioredis options is applied on top.
   * @default 'nanogrid:'
   */
  keyPrefix?: string;
  /**
   * How long an operation waits for a connection attempt under way before it
   * fails with `BACKEND_UNAVAILABLE` (a refused connection fails at once, and
   * so does any operation between reconnect attempts after a failure). Also the
   * TCP connect timeout of connections NanoGrid opens.
   * @default 2_000
   */
  connectTimeoutMs?: number;
}

function isClient(c: RedisConnection): c is Redis {
  return typeof (c as Redis).duplicate === 'function' && typeof (c as Redis).call === 'function';
}

/** `redis at host:port` (or the socket path), without credentials. */
export function describeConnection(c: RedisConnection): string {
  const o: RedisOptions = typeof c === 'string' ? {} : isClient(c) ? c.options : c;
  if (typeof c === 'string') {
    try {
      const u = new URL(c);
      return `redis at ${u.host || '127.0.0.1:6379'}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
    } catch {
      return 'redis at (unparsable URL)';
    }
  }
  return `redis at ${o.path ?? `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}`}`;
}

/**
 * The connections of one plugin instance: opened lazily (ioredis is imported
 * on first use), gated on readiness so an operation fails fast with
 * BACKEND_UNAVAILABLE while Redis is down instead of queueing forever, and
 * reconnected by ioredis when Redis comes back.
 */
export class RedisLink implements RedisErrorContext {
  readonly address: string;
  readonly prefix: string;
  private readonly source: RedisConnection;
  private readonly timeoutMs: number;
  private main: Promise<Redis> | undefined;
  private readonly owned = new Set<Redis>();
  private readonly readyWaits = new WeakMap<Redis, Promise<void>>();
  private lastError: Error | undefined;
  private closed = false;
  private flushPending = false;

  constructor(
    opts: RedisConnectionOptions,
    readonly plugin: string,
  ) {
    this.source = opts.connection ?? DEFAULT_REDIS_URL;
    this.prefix = opts.keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.timeoutMs = opts.connectTimeoutMs ?? 2_000;
    this.address = describeConnection(this.source);
  }

  /** The shared command connection, ready for use. */
  async client(): Promise<Redis> {
    if (this.closed) throw new NanoGridError('SHUTTING_DOWN', `${this.plugin} is closed`, { plugin: this.plugin });
    this.main ??= isClient(this.source) ? Promise.resolve(this.watch(this.source)) : this.open();
    const c = await this.main;
    await this.ready(c);
    return c;
  }

  /** A connection of its own (blocking reads, subscriber), ready. Give it back with `drop`. */
  async connection(): Promise<Redis> {
    if (this.closed) throw new NanoGridError('SHUTTING_DOWN', `${this.plugin} is closed`, { plugin: this.plugin });
    const c = isClient(this.source) ? this.watch(this.source.duplicate(this.overrides())) : await this.open();
    try {
      await this.ready(c);
    } catch (err) {
      this.drop(c);
      throw err;
    }
    return c;
  }

  /** Closes a connection opened by this link at once (pending commands reject). */
  drop(c: Redis): void {
    if (!this.owned.delete(c)) return;
    c.disconnect();
  }

  /** Runs `fn` on the shared connection; any failure comes out as a NanoGridError. */
  async run<T>(fn: (c: Redis) => Promise<T>): Promise<T> {
    const c = await this.client();
    this.coalesce(c);
    try {
      return await fn(c);
    } catch (err) {
      throw this.error(err);
    }
  }

  error(err: unknown): NanoGridError {
    return toBackendError(this, err);
  }

  /** Waits (up to the connect timeout) until `c` can take commands. */
  async ready(c: Redis): Promise<void> {
    if (c.status === 'ready') return;
    if (c.status === 'end' || this.closed) throw unavailable(this, 'connection closed');
    // Between reconnect attempts after a failure: Redis just said it is not there, answer now.
    if (c.status === 'reconnecting' && this.lastError) throw unavailable(this, this.lastError.message, this.lastError);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.timeoutMs)));
    await Promise.race([this.whenReady(c), timedOut]).finally(() => clearTimeout(timer));
    // Re-read: the status changed while we waited (TS narrowed it from the first check).
    if ((c.status as string) !== 'ready') {
      const why = this.lastError ? this.lastError.message : `not connected within ${this.timeoutMs} ms`;
      throw unavailable(this, why, this.lastError);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    // A client passed in stays open, without our listeners.
    if (isClient(this.source)) this.source.off('error', this.onError).off('ready', this.onReady);
    const all = [...this.owned];
    this.owned.clear();
    // quit lets queued replies arrive; disconnect ends a connection that is down or blocked.
    await Promise.all(
      all.map((c) =>
        c.status === 'ready'
          ? c.quit().then(
              () => undefined,
              () => c.disconnect(),
            )
          : c.disconnect(),
      ),
    );
  }

  /**
   * Settles when the connection attempt under way ends: ready, failed, or closed for good.
   * One shared promise per connection, so a thousand waiting operations add one listener.
   */
  private whenReady(c: Redis): Promise<void> {
    let p = this.readyWaits.get(c);
    if (!p) {
      p = new Promise<void>((resolve) => {
        const done = () => {
          for (const ev of ['ready', 'error', 'end']) c.off(ev, done);
          this.readyWaits.delete(c);
          resolve();
        };
        for (const ev of ['ready', 'error', 'end']) c.on(ev, done);
      });
      this.readyWaits.set(c, p);
    }
    return p;
  }

  private overrides(): Partial<RedisOptions> {
    return {
      connectTimeout: this.timeoutMs,
      // Fail commands when the connection drops instead of holding them for a reconnect:
      // the caller gets BACKEND_UNAVAILABLE (503) now and retries on its own terms.
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: (times: number) => Math.min(times * 100, 1_000),
    };
  }

  private async open(): Promise<Redis> {
    const mod = await import('ioredis');
    const RedisCtor = mod.Redis ?? mod.default;
    const src = this.source;
    const c =
      typeof src === 'string'
        ? new RedisCtor(src, this.overrides())
        : new RedisCtor({ ...this.overrides(), ...(src as RedisOptions) });
    return this.watch(c);
  }

  /**
   * Holds the shared connection's writes until the event loop's check phase, so the commands of every
   * request handled in this turn leave in one write (writev) instead of one syscall each: on loopback
   * each write also runs Redis's side of TCP and wakes it, and was a third of the host's CPU per call.
   * Order is kept; a command waits at most for the rest of this loop turn. Not for a client passed in
   * (used as is) nor for connections of their own (a blocking read, the subscriber).
   */
  private coalesce(c: Redis): void {
    if (this.flushPending || c === this.source) return;
    const stream = (c as unknown as { stream?: Writable }).stream;
    if (!stream || typeof stream.cork !== 'function' || stream.destroyed) return;
    stream.cork();
    this.flushPending = true;
    setImmediate(() => {
      this.flushPending = false;
      stream.uncork();
    });
  }

  private readonly onError = (err: Error) => {
    this.lastError = err;
  };
  private readonly onReady = () => {
    this.lastError = undefined;
  };

  private watch(c: Redis): Redis {
    if (c !== this.source) this.owned.add(c);
    // Without a listener ioredis prints every reconnect failure; keep the last one for messages.
    c.on('error', this.onError);
    c.on('ready', this.onReady);
    return c;
  }
}

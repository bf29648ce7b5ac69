import type { Logger } from '../logger.js';
import type { ResultSink } from '../plugins/result-sink.js';
import type { HostInfo } from './host-info.js';

export interface HostPresenceOptions {
  /** Time between heartbeats, ms. @default 10_000 */
  intervalMs?: number;
  /** Heartbeats a host may miss before it disappears from the list. @default 3 */
  missed?: number;
}

/**
 * Writes this host's presence entry into the result store every interval, with
 * a TTL of `missed` intervals: a host that stops (or hangs) drops out of
 * `GET /system` on its own, whichever controller answers.
 */
export class HostPresence {
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly intervalMs: number;
  private readonly ttlMs: number;
  private failing = false;
  /** The last entry written: what `stop()` expires (no new checks at shutdown). */
  private last: HostInfo | undefined;

  constructor(
    private readonly results: ResultSink,
    /** The entry as of now (live fields such as in-flight jobs are read at each beat). */
    private readonly describe: () => Omit<HostInfo, 'last_seen'> | Promise<Omit<HostInfo, 'last_seen'>>,
    private readonly logger: Logger,
    opts: HostPresenceOptions = {},
  ) {
    this.intervalMs = Math.max(10, opts.intervalMs ?? 10_000);
    this.ttlMs = this.intervalMs * Math.max(1, opts.missed ?? 3);
  }

  /** True when the store keeps presence entries. */
  get supported(): boolean {
    return this.results.heartbeat !== undefined;
  }

  /** One heartbeat now. */
  async beat(): Promise<void> {
    if (!this.results.heartbeat) return;
    try {
      this.last = { ...(await this.describe()), last_seen: new Date().toISOString() };
      await this.results.heartbeat(this.last, this.ttlMs);
      if (this.failing) this.logger.info('presence heartbeat works again');
      this.failing = false;
    } catch (err) {
      // Logged once per outage: a down store is reported loudly elsewhere.
      if (!this.failing) this.logger.warn('presence heartbeat failed', { error: (err as Error).message });
      this.failing = true;
    }
  }

  /** Starts beating; resolves once the first beat is written (or failed: it never rejects). */
  start(): Promise<void> {
    if (this.timer || !this.supported) return Promise.resolve();
    this.timer = setInterval(() => void this.beat(), this.intervalMs);
    this.timer.unref();
    return this.beat();
  }

  /** Stops beating and, when it was started, leaves the list at once (an entry kept 1 ms) instead of after its TTL. */
  async stop(): Promise<void> {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    if (!this.results.heartbeat || !this.last) return;
    try {
      await this.results.heartbeat(this.last, 1);
    } catch {
      // The store is down: the entry expires on its own.
    }
  }
}

/** Hosts alive now, controllers first then workers, each by start time; [] when the store keeps none. */
export async function liveHosts(results: ResultSink): Promise<HostInfo[]> {
  const hosts = (await results.hosts?.()) ?? [];
  const rank = (h: HostInfo) => (h.role === 'controller' ? 0 : h.role === 'all' ? 1 : 2);
  return hosts.sort(
    (a, b) => rank(a) - rank(b) || a.started_at.localeCompare(b.started_at) || a.id.localeCompare(b.id),
  );
}

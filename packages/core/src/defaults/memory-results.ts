import { NanoGridError } from '../errors.js';
import { isFinalStatus } from '../job.js';
import type { JobPatch, JobRecord } from '../job.js';
import { decodeJobCursor, encodeJobCursor, matchesJobQuery, newestFirst } from '../job-cursor.js';
import type { CounterUpdate, JobQuery, LogLine, ResultSink, WaitOptions } from '../plugins/result-sink.js';
import type { HostInfo } from '../telemetry/host-info.js';
import { byteBudget } from './byte-budget.js';
import { InProcessLive } from '../live/in-process-live.js';

export interface MemoryResultsOptions {
  /** Plugin name shown in logs and errors. @default 'memory-results' */
  name?: string;
  /** Seconds a job record is kept after its last write. @default 86400 */
  ttlSec?: number;
  /**
   * Bytes of records held at once (their JSON text). A `create` past it throws
   * RESULTS_FULL; updates and final records of jobs already created are always
   * kept. @default 256 MiB
   */
  maxBytes?: number;
}

export interface MemoryResults extends ResultSink {
  bumpCounters(updates: CounterUpdate[], ttlMs: number): Promise<void>;
  readCounters(keys: string[]): Promise<Record<string, number>[]>;
  heartbeat(host: HostInfo, ttlMs: number): Promise<void>;
  hosts(): Promise<HostInfo[]>;
  /** Pending `wait` calls (for leak checks). */
  waiting(): number;
  /** Live-log followers and job watchers registered now (for leak checks). */
  followers(): number;
  /** Records currently kept (expired ones excluded). */
  size(): number;
  /** Bytes of records held now (what counts against `maxBytes`). */
  bytes(): number;
}

interface Stored {
  record: JobRecord;
  expiresAt: number;
  /** JSON length of the record, counted against the budget. */
  bytes: number;
  /** The record's JSON: copies out are parsed from it (a parse, not a stringify and a parse). */
  json: string;
}

/** A deep copy of a record (plain JSON data): a JSON round trip is several times faster than structuredClone. */
const clone = (r: JobRecord): JobRecord => JSON.parse(JSON.stringify(r)) as JobRecord;

/** Expired records are swept on writes at most this often: no timer to leak. */
const SWEEP_EVERY_MS = 60_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * In-process job state with a TTL and `wait()`. Records are copied in and out,
 * so callers never share objects with the store (as with a remote sink).
 */
export function memoryResults(opts: MemoryResultsOptions = {}): MemoryResults {
  const name = opts.name ?? 'memory-results';
  const ttlMs = (opts.ttlSec ?? 86_400) * 1000;
  const records = new Map<string, Stored>();
  const listeners = new Map<string, Set<(record: JobRecord | undefined) => void>>();
  let lastSweep = Date.now();
  const budget = byteBudget({
    maxBytes: opts.maxBytes ?? 256 * 1024 * 1024,
    code: 'RESULTS_FULL',
    what: 'job records',
    plugin: name,
    option: 'limits.maxStoredResultBytes; a shorter jobTtlSec frees records sooner',
  });

  const drop = (jobId: string, stored: Stored) => {
    records.delete(jobId);
    budget.add(-stored.bytes);
  };

  const liveStored = (jobId: string): Stored | undefined => {
    const stored = records.get(jobId);
    if (!stored) return undefined;
    if (stored.expiresAt <= Date.now()) {
      drop(jobId, stored);
      return undefined;
    }
    return stored;
  };
  const live = (jobId: string): JobRecord | undefined => liveStored(jobId)?.record;
  /** A copy of the live record, for a caller. */
  const copyOut = (jobId: string): JobRecord | undefined => {
    const stored = liveStored(jobId);
    return stored && (JSON.parse(stored.json) as JobRecord);
  };

  const sweep = (now: number) => {
    lastSweep = now;
    for (const [id, s] of records) if (s.expiresAt <= now) drop(id, s);
  };

  /**
   * Stores a copy; `fresh` (a new job) is refused past the budget, a known job's later state never is.
   * Returns the record's JSON.
   */
  const write = (record: JobRecord, fresh = false): string => {
    const now = Date.now();
    const json = JSON.stringify(record);
    const previous = records.get(record.job_id);
    const delta = json.length - (previous?.bytes ?? 0);
    if (fresh && !budget.fits(delta) && now - lastSweep > 1000) sweep(now); // expired records first
    if (fresh) budget.take(delta);
    else budget.add(delta);
    records.set(record.job_id, {
      record: JSON.parse(json) as JobRecord,
      expiresAt: now + ttlMs,
      bytes: json.length,
      json,
    });
    if (now - lastSweep >= SWEEP_EVERY_MS) sweep(now);
    hub.jobChanged(record);
    if (isFinalStatus(record.status)) {
      for (const notify of [...(listeners.get(record.job_id) ?? [])]) notify(JSON.parse(json) as JobRecord);
    }
    return json;
  };

  const subscribe = (jobId: string, fn: (record: JobRecord | undefined) => void) => {
    let set = listeners.get(jobId);
    if (!set) listeners.set(jobId, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && listeners.get(jobId) === set) listeners.delete(jobId);
    };
  };

  const hub = new InProcessLive(async (jobId) => copyOut(jobId));
  const claims = new Map<string, { value: string; until: number }>();
  const counters = new Map<string, { fields: Map<string, number>; until: number }>();
  const hosts = new Map<string, { info: string; until: number }>();
  let lastCounterSweep = Date.now();

  return {
    name,
    async create(record: JobRecord) {
      // A final record is never replaced: a late duplicate submit cannot undo a result.
      const existing = live(record.job_id);
      if (existing && isFinalStatus(existing.status)) return;
      write(record, existing === undefined);
    },
    async update(jobId: string, patch: JobPatch) {
      const existing = live(jobId);
      if (!existing || isFinalStatus(existing.status)) return undefined;
      const { job_id: _j, function_id: _f, created_at: _c, ...rest } = patch as JobPatch & Partial<JobRecord>;
      // Object.assign, not spreads: a spread of a whole record followed by more keys builds a new hidden class per
      // call in V8 (~10 µs and garbage, measured), Object.assign onto {} reuses one (~0.4 µs).
      const next: JobRecord = Object.assign({}, existing, rest, {
        updated_at: patch.updated_at ?? new Date().toISOString(),
      });
      return JSON.parse(write(next)) as JobRecord;
    },
    async get(jobId: string) {
      return copyOut(jobId);
    },
    async list(query: JobQuery) {
      // A scan of the records held (bounded by the byte budget): fine for one process's store.
      const after = query.cursor === undefined ? undefined : decodeJobCursor(query.cursor);
      const now = Date.now();
      const hits: JobRecord[] = [];
      for (const s of records.values())
        if (s.expiresAt > now && matchesJobQuery(s.record, query, after)) hits.push(s.record);
      hits.sort(newestFirst);
      const jobs = hits.slice(0, query.limit).map(clone);
      const last = jobs.at(-1);
      return hits.length > query.limit && last ? { jobs, next_cursor: encodeJobCursor(last) } : { jobs };
    },
    async claim(key: string, value: string, ttlMs: number) {
      const now = Date.now();
      const held = claims.get(key);
      if (held && held.until > now) return held.value;
      if (claims.size >= 100_000) for (const [k, c] of claims) if (c.until <= now) claims.delete(k);
      claims.set(key, { value, until: now + ttlMs });
      return undefined;
    },
    async bumpCounters(updates: CounterUpdate[], ttlMs: number) {
      const now = Date.now();
      if (now - lastCounterSweep >= SWEEP_EVERY_MS) {
        lastCounterSweep = now;
        for (const [k, c] of counters) if (c.until <= now) counters.delete(k);
      }
      for (const u of updates) {
        let c = counters.get(u.key);
        if (!c || c.until <= now) counters.set(u.key, (c = { fields: new Map(), until: 0 }));
        c.until = now + ttlMs;
        for (const [f, n] of Object.entries(u.add ?? {})) c.fields.set(f, (c.fields.get(f) ?? 0) + n);
        for (const [f, n] of Object.entries(u.max ?? {})) c.fields.set(f, Math.max(c.fields.get(f) ?? n, n));
      }
    },
    async readCounters(keys: string[]) {
      const now = Date.now();
      return keys.map((k) => {
        const c = counters.get(k);
        return c && c.until > now ? Object.fromEntries(c.fields) : {};
      });
    },
    async heartbeat(host: HostInfo, ttlMs: number) {
      hosts.set(host.id, { info: JSON.stringify(host), until: Date.now() + ttlMs });
    },
    async hosts() {
      const now = Date.now();
      const alive: HostInfo[] = [];
      for (const [id, h] of hosts) {
        if (h.until <= now) hosts.delete(id);
        else alive.push(JSON.parse(h.info) as HostInfo);
      }
      return alive;
    },
    async publish(final: JobRecord) {
      if (!isFinalStatus(final.status)) {
        throw new NanoGridError('BAD_REQUEST', `publish needs a final status, got "${final.status}"`, { plugin: name });
      }
      const existing = live(final.job_id);
      if (existing && isFinalStatus(existing.status)) return false;
      write(Object.assign({}, existing, final));
      return true;
    },
    wait(jobId: string, { signal, timeoutMs }: WaitOptions = {}) {
      return new Promise<JobRecord | undefined>((resolve) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const finish = (record: JobRecord | undefined) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          unsubscribe();
          resolve(record);
        };
        const onAbort = () => finish(copyOut(jobId));
        // Subscribe before reading, so a publish in between is not missed.
        const unsubscribe = subscribe(jobId, finish);
        const current = live(jobId);
        if (current && isFinalStatus(current.status)) return finish(copyOut(jobId));
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        if (timeoutMs !== undefined) timer = setTimeout(onAbort, Math.min(Math.max(0, timeoutMs), MAX_TIMER_MS));
      });
    },
    async appendLogs(jobId: string, lines: LogLine[]) {
      hub.append(jobId, lines);
    },
    followLogs(jobId, onLines, followOpts) {
      return hub.follow(jobId, onLines, followOpts);
    },
    watchJobs(onJob, followOpts) {
      return hub.watch(onJob, followOpts);
    },
    followers() {
      return hub.listeners();
    },
    waiting() {
      let n = 0;
      for (const set of listeners.values()) n += set.size;
      return n;
    },
    bytes() {
      return budget.used;
    },
    size() {
      const now = Date.now();
      let n = 0;
      for (const s of records.values()) if (s.expiresAt > now) n += 1;
      return n;
    },
    async close() {
      hub.close();
      // Nothing to release but waiters: answer them with what is known.
      for (const [jobId, set] of [...listeners]) {
        const current = copyOut(jobId);
        for (const notify of [...set]) notify(current);
      }
    },
  };
}

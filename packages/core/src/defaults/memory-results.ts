import { NanoGridError } from '../errors.js';
import { isFinalStatus } from '../job.js';
import type { JobPatch, JobRecord, JobStatus } from '../job.js';
import { decodeJobCursor, encodeJobCursor, matchesJobQuery, newestFirst } from '../job-cursor.js';
import type { CounterUpdate, JobQuery, LogLine, ResultSink, WaitOptions } from '../plugins/result-sink.js';
import type { HostInfo } from '../telemetry/host-info.js';
import { byteBudget } from './byte-budget.js';
import { finalListeners } from '../live/final-listeners.js';
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
  onFinal(jobId: string, listener: (status: JobStatus) => void): () => void;
  /** Pending `wait` calls and `onFinal` listeners (for leak checks). */
  waiting(): number;
  /** Live-log followers and job watchers registered now (for leak checks). */
  followers(): number;
  /** Records currently kept (expired ones excluded). */
  size(): number;
  /** Bytes of records held now (what counts against `maxBytes`). */
  bytes(): number;
}

/**
 * A record as held: its JSON only, plus the fields reads filter on. Held as one string, not a parsed object: a copy
 * out is one parse either way, and a store of 10^5 records then is 10^5 strings for the GC to walk, not millions of
 * small objects (the old generation's marking work grew with every record held).
 */
interface Stored {
  /** The record's JSON: every copy out is parsed from it. */
  json: string;
  status: JobRecord['status'];
  function_id: string;
  job_id: string;
  created_at: string;
  expiresAt: number;
  /** JSON length of the record, counted against the budget. */
  bytes: number;
}

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
  /** onFinal listeners: told the final status only (no copy of the record). */
  const finals = finalListeners();
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
  /** A copy of the live record, for a caller (or to build the next version from: the store keeps only JSON). */
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
      json,
      status: record.status,
      function_id: record.function_id,
      job_id: record.job_id,
      created_at: record.created_at,
      expiresAt: now + ttlMs,
      bytes: json.length,
    });
    if (now - lastSweep >= SWEEP_EVERY_MS) sweep(now);
    hub.jobChanged(record);
    if (isFinalStatus(record.status)) {
      finals.notify(record.job_id, record.status);
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
      const existing = liveStored(record.job_id);
      if (existing && isFinalStatus(existing.status)) return;
      write(record, existing === undefined);
    },
    async update(jobId: string, patch: JobPatch) {
      const stored = liveStored(jobId);
      if (!stored || isFinalStatus(stored.status)) return undefined;
      const { job_id: _j, function_id: _f, created_at: _c, ...rest } = patch as JobPatch & Partial<JobRecord>;
      // Object.assign, not spreads: a spread of a whole record followed by more keys builds a new hidden class per
      // call in V8 (~10 µs and garbage, measured), Object.assign onto {} reuses one (~0.4 µs).
      const next: JobRecord = Object.assign(JSON.parse(stored.json) as JobRecord, rest, {
        updated_at: patch.updated_at ?? new Date().toISOString(),
      });
      write(next);
      // The caller's copy: the store keeps only the JSON, and `next` is a fresh parse plus the caller's own patch.
      return next;
    },
    async get(jobId: string) {
      return copyOut(jobId);
    },
    async list(query: JobQuery) {
      // A scan of the records held (bounded by the byte budget): fine for one process's store.
      const after = query.cursor === undefined ? undefined : decodeJobCursor(query.cursor);
      const now = Date.now();
      const hits: Stored[] = [];
      for (const s of records.values()) if (s.expiresAt > now && matchesJobQuery(s, query, after)) hits.push(s);
      hits.sort(newestFirst);
      const jobs = hits.slice(0, query.limit).map((s) => JSON.parse(s.json) as JobRecord);
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
      const stored = liveStored(final.job_id);
      if (stored && isFinalStatus(stored.status)) return false;
      write(stored ? Object.assign(JSON.parse(stored.json) as JobRecord, final) : final);
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
        const current = liveStored(jobId);
        if (current && isFinalStatus(current.status)) return finish(JSON.parse(current.json) as JobRecord);
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        if (timeoutMs !== undefined) timer = setTimeout(onAbort, Math.min(Math.max(0, timeoutMs), MAX_TIMER_MS));
      });
    },
    onFinal(jobId: string, listener: (status: JobStatus) => void) {
      return finals.onFinal(jobId, liveStored(jobId)?.status, listener);
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
      return n + finals.size();
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

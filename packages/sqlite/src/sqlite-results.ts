import {
  type CounterUpdate,
  type HostInfo,
  type JobPatch,
  type JobQuery,
  type JobRecord,
  type JobStatus,
  InProcessLive,
  type LogLine,
  NanoGridError,
  type ResultSink,
  type WaitOptions,
  byteBudget,
  decodeJobCursor,
  encodeJobCursor,
  finalListeners,
  isFinalStatus,
} from '@nanogrid/core';
import { RecordCache } from './record-cache.js';
import { type SqliteSource, useDatabase } from './use-database.js';

export interface SqliteResultsOptions extends SqliteSource {
  /** Plugin name shown in logs and errors. @default 'sqlite-results' */
  name?: string;
  /** Seconds a job record is kept after its last write. @default 86400 */
  ttlSec?: number;
  /**
   * Bytes of records held at once (their JSON text; `limits.maxStoredResultBytes`).
   * A `create` past it throws RESULTS_FULL; later states of jobs already created
   * are always written. @default 256 MiB
   */
  maxBytes?: number;
}

export interface SqliteResults extends ResultSink {
  onFinal(jobId: string, listener: (status: JobStatus) => void): () => void;
  /** Pending `wait` calls and `onFinal` listeners (for leak checks). */
  waiting(): number;
  /** Live-log followers and job watchers registered now (for leak checks). */
  followers(): number;
  /** Start-up check: the file answers. */
  check(): Promise<void>;
  /** Bytes of records held now (what counts against `maxBytes`). */
  bytes(): number;
}

/** Expired records are deleted on writes at most this often: no timer to leak. */
const SWEEP_EVERY_MS = 60_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Job records in a SQLite file, with a TTL and `wait()`. The file is owned by
 * one host, so waiters are woken in-process when a final record is written;
 * records finished before a crash or restart are read back from the file.
 * Live logs and job events are in-process too (the host that owns the file
 * runs its jobs): lines of running jobs are held in memory, not in the file.
 */
export function sqliteResults(opts: SqliteResultsOptions): SqliteResults {
  const name = opts.name ?? 'sqlite-results';
  const ttlMs = (opts.ttlSec ?? 86_400) * 1000;
  const database = useDatabase(opts, name);
  const { db } = database;
  const guard = <T>(fn: () => T): T => database.guard(name, fn);
  /** The records this store wrote last (see RecordCache): reads of a job in flight skip the query. */
  const cache = new RecordCache();
  const write = <T>(fn: () => T, after?: (value: T) => void): Promise<T> =>
    database.write(name, fn, after).catch((err: unknown) => {
      cache.clear(); // the group may have been rolled back: the cache must not answer with what it wrote
      throw err;
    });
  const listeners = new Map<string, Set<(record: JobRecord | undefined) => void>>();
  /** onFinal listeners: told the final status only (no copy of the record). */
  const finals = finalListeners();
  let lastSweep = 0;
  let closed = false;

  const st = guard(() => ({
    get: db.prepare<[string, number]>('SELECT record, final FROM job_records WHERE job_id = ? AND expires_at > ?'),
    status: db.prepare<[string, number]>('SELECT status FROM job_records WHERE job_id = ? AND expires_at > ?'),
    put: db.prepare<[string, string, number, number, string, string, string]>(
      `INSERT INTO job_records (job_id, record, final, expires_at, function_id, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (job_id) DO UPDATE SET record = excluded.record, final = excluded.final, expires_at = excluded.expires_at,
         status = excluded.status`,
    ),
    sweep: db.prepare<[number]>('DELETE FROM job_records WHERE expires_at <= ? RETURNING length(record) AS n'),
    size: db.prepare<[string]>('SELECT length(record) AS n FROM job_records WHERE job_id = ?'),
    held: db.prepare('SELECT COALESCE(SUM(length(record)), 0) AS n FROM job_records'),
    claimHeld: db.prepare<[string, number]>('SELECT value FROM claims WHERE key = ? AND expires_at > ?'),
    hold: db.prepare<[string, string, number]>(
      'INSERT OR REPLACE INTO claims (key, value, expires_at) VALUES (?, ?, ?)',
    ),
    sweepClaims: db.prepare<[number]>('DELETE FROM claims WHERE expires_at <= ?'),
    // An expired row starts again from the new value; the key's TTL is refreshed on every write.
    add: db.prepare<[string, string, number, number, number]>(
      `INSERT INTO counters (key, field, value, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (key, field) DO UPDATE SET expires_at = excluded.expires_at,
         value = CASE WHEN counters.expires_at > ? THEN counters.value + excluded.value ELSE excluded.value END`,
    ),
    max: db.prepare<[string, string, number, number, number]>(
      `INSERT INTO counters (key, field, value, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (key, field) DO UPDATE SET expires_at = excluded.expires_at,
         value = CASE WHEN counters.expires_at > ? THEN MAX(counters.value, excluded.value) ELSE excluded.value END`,
    ),
    touch: db.prepare<[number, string]>('UPDATE counters SET expires_at = ? WHERE key = ?'),
    readCounters: db.prepare<[string, number]>(
      'SELECT key, field, value FROM counters WHERE key IN (SELECT value FROM json_each(?)) AND expires_at > ?',
    ),
    sweepCounters: db.prepare<[number]>('DELETE FROM counters WHERE expires_at <= ?'),
    beat: db.prepare<[string, string, number]>('INSERT OR REPLACE INTO hosts (id, info, expires_at) VALUES (?, ?, ?)'),
    hosts: db.prepare<[number]>('SELECT info FROM hosts WHERE expires_at > ?'),
    sweepHosts: db.prepare<[number]>('DELETE FROM hosts WHERE expires_at <= ?'),
  }));
  // Counted once at open from the file, then kept in step with every write and sweep (O(1) per write).
  const budget = byteBudget({
    maxBytes: opts.maxBytes ?? 256 * 1024 * 1024,
    code: 'RESULTS_FULL',
    what: 'job records',
    plugin: name,
    option: 'limits.maxStoredResultBytes; a shorter jobTtlSec frees records sooner',
  });
  budget.add(guard(() => (st.held.get() as { n: number }).n));

  const sweep = (now: number) => {
    lastSweep = now;
    for (const row of st.sweep.all(now) as { n: number }[]) budget.add(-row.n);
    st.sweepClaims.run(now);
    st.sweepCounters.run(now);
    st.sweepHosts.run(now);
  };

  const live = (jobId: string, now: number): { record: JobRecord; final: boolean; bytes: number } | undefined => {
    const cached = cache.get(jobId, now);
    if (cached) return { record: JSON.parse(cached.json) as JobRecord, final: cached.final, bytes: cached.json.length };
    const row = st.get.get(jobId, now) as { record: string; final: number } | undefined;
    return row && { record: JSON.parse(row.record) as JobRecord, final: row.final === 1, bytes: row.record.length };
  };

  /**
   * Writes a record; `fresh` (a new job) is refused past the budget, a known job's later state never is.
   * `before`: the bytes of the live row it replaces, when the caller has just read it (saves a query).
   */
  const put = (record: JobRecord, now: number, fresh = false, before?: number) => {
    const final = isFinalStatus(record.status);
    const json = JSON.stringify(record);
    const old = before ?? (st.size.get(record.job_id) as { n: number } | undefined)?.n ?? 0;
    const delta = json.length - old;
    if (fresh && !budget.fits(delta) && now - lastSweep > 1000) sweep(now); // expired records first
    if (fresh) budget.take(delta);
    else budget.add(delta);
    st.put.run(record.job_id, json, final ? 1 : 0, now + ttlMs, record.function_id, record.status, record.created_at);
    cache.set(record.job_id, { json, status: record.status, final, expiresAt: now + ttlMs });
    if (now - lastSweep >= SWEEP_EVERY_MS) sweep(now);
  };

  const notify = (record: JobRecord) => {
    finals.notify(record.job_id, record.status);
    const set = listeners.get(record.job_id);
    if (!set) return;
    const text = JSON.stringify(record);
    for (const fn of [...set]) fn(JSON.parse(text) as JobRecord);
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

  // Read-then-write runs synchronously, with one write each: no other write can slip in between.
  const create = (record: JobRecord, now: number) => {
    const existing = live(record.job_id, now);
    if (existing?.final) return; // a late duplicate submit cannot undo a result
    put(record, now, existing === undefined);
  };
  const update = (jobId: string, patch: JobPatch, now: number): JobRecord | undefined => {
    const existing = live(jobId, now);
    if (!existing || existing.final) return undefined;
    const { job_id: _j, function_id: _f, created_at: _c, ...rest } = patch as JobPatch & Partial<JobRecord>;
    // Object.assign, not spreads: see mergeRecord in @nanogrid/core.
    const next: JobRecord = Object.assign({}, existing.record, rest, {
      updated_at: patch.updated_at ?? new Date(now).toISOString(),
    });
    put(next, now, false, existing.bytes);
    return next;
  };
  const publish = (final: JobRecord, now: number): JobRecord | undefined => {
    const existing = live(final.job_id, now);
    if (existing?.final) return undefined;
    const next: JobRecord = Object.assign({}, existing?.record, final);
    put(next, now, false, existing?.bytes);
    return next;
  };

  /** Newest first through the indexes; the statement is built from the filters given (values always bound). */
  const list = (q: JobQuery, now: number) => {
    const where = ['expires_at > ?'];
    const args: (string | number)[] = [now];
    if (q.function_id !== undefined) where.push('function_id = ?'), args.push(q.function_id);
    if (q.status !== undefined) where.push('status = ?'), args.push(q.status);
    if (q.since !== undefined) where.push('created_at >= ?'), args.push(q.since);
    if (q.cursor !== undefined) {
      const after = decodeJobCursor(q.cursor);
      where.push('(created_at, job_id) < (?, ?)'), args.push(after.created_at, after.job_id);
    }
    const sql = `SELECT record FROM job_records WHERE ${where.join(' AND ')} ORDER BY created_at DESC, job_id DESC LIMIT ?`;
    const rows = db.prepare(sql).all(...args, q.limit + 1) as { record: string }[];
    const jobs = rows.slice(0, q.limit).map((r) => JSON.parse(r.record) as JobRecord);
    const last = jobs.at(-1);
    return rows.length > q.limit && last ? { jobs, next_cursor: encodeJobCursor(last) } : { jobs };
  };

  const current = (jobId: string) => guard(() => live(jobId, Date.now()))?.record;
  // Events go out once a write is in the file, like the answers to waiters.
  const hub = new InProcessLive(async (jobId) => (database.open ? current(jobId) : undefined));

  return {
    name,
    async create(record: JobRecord) {
      await write(
        () => create(record, Date.now()),
        () => hub.jobChanged(record),
      );
    },
    async update(jobId: string, patch: JobPatch) {
      return write(
        () => update(jobId, patch, Date.now()),
        (next) => next && hub.jobChanged(next),
      );
    },
    async get(jobId: string) {
      return current(jobId);
    },
    async list(query: JobQuery) {
      return guard(() => list(query, Date.now()));
    },
    async claim(key: string, value: string, ttlMs: number) {
      // Read and write in one synchronous step: no other write slips in between.
      return write(() => {
        const now = Date.now();
        const held = st.claimHeld.get(key, now) as { value: string } | undefined;
        if (held) return held.value;
        st.hold.run(key, value, now + ttlMs);
        return undefined;
      });
    },
    async bumpCounters(updates: CounterUpdate[], ttlMs: number) {
      await write(() => {
        const now = Date.now();
        for (const u of updates) {
          for (const [f, n] of Object.entries(u.add ?? {})) st.add.run(u.key, f, n, now + ttlMs, now);
          for (const [f, n] of Object.entries(u.max ?? {})) st.max.run(u.key, f, n, now + ttlMs, now);
          st.touch.run(now + ttlMs, u.key);
        }
        if (now - lastSweep >= SWEEP_EVERY_MS) sweep(now);
      });
    },
    async readCounters(keys: string[]) {
      const rows = guard(
        () => st.readCounters.all(JSON.stringify(keys), Date.now()) as { key: string; field: string; value: number }[],
      );
      // Entries, then fromEntries: a field named like an Object.prototype member stays a plain field.
      const byKey = new Map<string, [string, number][]>();
      for (const r of rows) {
        const c = byKey.get(r.key);
        if (c) c.push([r.field, r.value]);
        else byKey.set(r.key, [[r.field, r.value]]);
      }
      return keys.map((k) => Object.fromEntries(byKey.get(k) ?? []));
    },
    async heartbeat(host: HostInfo, ttlMs: number) {
      await write(() => st.beat.run(host.id, JSON.stringify(host), Date.now() + ttlMs));
    },
    async hosts() {
      return guard(() => (st.hosts.all(Date.now()) as { info: string }[]).map((r) => JSON.parse(r.info) as HostInfo));
    },
    async publish(final: JobRecord) {
      if (!isFinalStatus(final.status)) {
        throw new NanoGridError('BAD_REQUEST', `publish needs a final status, got "${final.status}"`, { plugin: name });
      }
      // Waiters are answered once the final record is in the file, never before.
      const written = await write(
        () => publish(final, Date.now()),
        (record) => {
          if (!record) return;
          hub.jobChanged(record);
          notify(record);
        },
      );
      return written !== undefined;
    },
    wait(jobId: string, { signal, timeoutMs }: WaitOptions = {}) {
      return new Promise<JobRecord | undefined>((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const finish = (record: JobRecord | undefined) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          unsubscribe();
          resolve(record);
        };
        const fail = (err: unknown) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          unsubscribe();
          reject(err);
        };
        const onAbort = () => {
          try {
            finish(database.open ? current(jobId) : undefined);
          } catch (err) {
            fail(err);
          }
        };
        // Subscribe before reading, so a publish in between is not missed.
        const unsubscribe = subscribe(jobId, finish);
        let now: JobRecord | undefined;
        try {
          now = current(jobId);
        } catch (err) {
          return fail(err);
        }
        if (now && isFinalStatus(now.status)) return finish(now);
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        if (timeoutMs !== undefined) timer = setTimeout(onAbort, Math.min(Math.max(0, timeoutMs), MAX_TIMER_MS));
      });
    },
    onFinal(jobId: string, listener: (status: JobStatus) => void) {
      const now = Date.now();
      const row =
        cache.get(jobId, now) ?? (guard(() => st.status.get(jobId, now)) as { status: JobStatus } | undefined);
      return finals.onFinal(jobId, row?.status, listener);
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
    async check() {
      guard(() => st.get.get('', 0));
    },
    bytes() {
      return budget.used;
    },
    async close() {
      if (closed) return;
      closed = true;
      cache.clear();
      hub.close();
      // Answer the waiters with what is known, then let go of the file.
      for (const [jobId, set] of [...listeners]) {
        let record: JobRecord | undefined;
        try {
          record = current(jobId);
        } catch {
          record = undefined;
        }
        for (const fn of [...set]) fn(record);
      }
      database.release();
    },
  };
}

import { randomUUID } from 'node:crypto';
import { NanoGridError, isFinalStatus, jobEventRecord } from '@nanogrid/core';
import type { CreateOptions, JobPatch, JobQuery, JobRecord, ResultSink, WaitOptions } from '@nanogrid/core';
import { ChannelSubscriber } from './channel-subscriber.js';
import { RedisLink } from './connection.js';
import type { RedisConnectionOptions } from './connection.js';
import { redisJobIndex } from './redis-job-index.js';
import { redisTelemetry } from './redis-telemetry.js';
import { RecordCache } from './record-cache.js';
import type { CachedRecord } from './record-cache.js';
import { CLAIM, REGISTER_WAIT, WRITE_RECORD } from './result-scripts.js';
import { ResultWaiters } from './result-waiters.js';
import { RedisLive } from './redis-live.js';

export interface RedisResultsOptions extends RedisConnectionOptions {
  /** Plugin name shown in logs and errors. @default 'redis-results' */
  name?: string;
  /** Seconds a job record is kept after its last write. @default 86_400 */
  ttlSec?: number;
  /**
   * Pub/sub channel of a job is `{channelPrefix}{job_id}`; the original system
   * used `result:{job_id}`. Channels are server-wide (not per database) and
   * `keyPrefix` is not applied to them: job ids are unique, and an outside
   * subscriber of the original keeps working. @default 'result:'
   */
  channelPrefix?: string;
  /** Live-log lines kept per job (a list expiring with the record). @default 20_000 */
  maxLogLinesPerJob?: number;
  /**
   * A wait re-reads the job's record this often, in case its notice never came: pub/sub is at most once,
   * and a worker of an older version publishes only on `{channelPrefix}{job_id}`, not on this host's
   * channel. A lost notice then costs this long, not the wait's whole timeout. @default 5_000
   */
  waitRecheckMs?: number;
}

export interface RedisResults extends ResultSink {
  /** The hash holding a job's record (`status`, `record` JSON, `v`). */
  key(jobId: string): string;
  /** The channel a job's final record is published on. */
  channel(jobId: string): string;
  /** Pending `wait` calls (for leak checks). */
  waiting(): number;
  /** Pub/sub listeners of this instance (waits, log followers, job watchers), for leak checks. */
  followers(): number;
}

/** What a write found: written (the stored copy), the record already final, or changed since read. */
type WriteOutcome = { written: JobRecord } | { final: JobRecord | undefined } | { changed: CachedRecord | undefined };

/** Tries of read-merge-write before giving up under contention (each retry means another writer won). */
const MAX_WRITE_TRIES = 50;
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Job state in Redis hashes with a TTL. Each write is one Lua script: the record (checked against the version
 * the writer read, and never over a final one), its TTL, the job-event notice, and for a final record the
 * PUBLISH on `result:{job_id}` and on the channels of the hosts waiting for it. The records this process wrote
 * last are kept (bounded), so the job's next write skips the read. `wait()` registers this host on the job and
 * reads it in one script, on one channel of this instance subscribed once (a second wait of the same job here
 * costs nothing).
 */
export function redisResults(opts: RedisResultsOptions = {}): RedisResults {
  const name = opts.name ?? 'redis-results';
  const link = new RedisLink(opts, name);
  const ttlSec = Math.max(1, Math.floor(opts.ttlSec ?? 86_400));
  const channelPrefix = opts.channelPrefix ?? 'result:';
  const subscriber = new ChannelSubscriber(link);
  const stops = new Set<() => void>();
  const running = new Set<Promise<unknown>>();
  let closed = false;
  const recheckMs = Math.max(10, opts.waitRecheckMs ?? 5_000);

  const key = (jobId: string) => `${link.prefix}job:${jobId}`;
  const channel = (jobId: string) => `${channelPrefix}${jobId}`;
  const index = redisJobIndex(link, ttlSec, key);
  const live = new RedisLive(link, subscriber, {
    ttlSec,
    maxLinesPerJob: opts.maxLogLinesPerJob ?? 20_000,
    recordKey: key,
    resultChannel: channel,
  });

  const cache = new RecordCache();
  const waitChannel = `${link.prefix}waiters:${randomUUID()}`;
  const waiters = new ResultWaiters(link, subscriber, {
    channel: waitChannel,
    register: (jobId) =>
      link.run(async (c) => {
        const text = await REGISTER_WAIT.run(c, [key(jobId)], [waitChannel, ttlSec]);
        return typeof text === 'string' ? (JSON.parse(text) as JobRecord) : undefined;
      }),
  });

  const read = (jobId: string): Promise<CachedRecord | undefined> =>
    link.run(async (c) => {
      const [record, version] = (await c.call('HMGET', [key(jobId), 'record', 'v'])) as [string | null, string | null];
      return record === null ? undefined : { record: JSON.parse(record) as JobRecord, version: version ?? '0' };
    });

  /** What this process last wrote of the job, else what Redis has. */
  const current = (jobId: string) => {
    const cached = cache.get(jobId);
    return cached ? Promise.resolve(cached) : read(jobId);
  };

  /**
   * One script: the record, its TTL, its notices, and (`indexed`) the recent-jobs indexes. Written: the
   * record as stored (a copy). Otherwise what is stored now: final, or changed since `expected` (merge again).
   */
  const write = async (record: JobRecord, expected: string, indexed: boolean, waiter = ''): Promise<WriteOutcome> => {
    const json = JSON.stringify(record);
    const event = jobEventRecord(record);
    const eventJson = event === record ? '' : JSON.stringify(event);
    const ix = indexed ? index.entry(record) : undefined;
    const reply = (await link.run((c) =>
      WRITE_RECORD.run(
        c,
        [key(record.job_id), ...(ix?.keys ?? [])],
        [
          expected,
          record.status,
          json,
          ttlSec,
          channel(record.job_id),
          live.jobsChannel,
          eventJson,
          ix?.member ?? '',
          ix?.oldest ?? '',
          waiter,
        ],
      ),
    )) as [number, string | null, string | number | null];
    const [code, stored, version] = reply;
    if (code === 1) {
      if (isFinalStatus(record.status)) cache.delete(record.job_id);
      else cache.set(record.job_id, json, String(stored));
      return { written: JSON.parse(json) as JobRecord };
    }
    cache.delete(record.job_id);
    const now = typeof stored === 'string' ? (JSON.parse(stored) as JobRecord) : undefined;
    if (code === -1) return { final: now };
    return { changed: now && { record: now, version: String(version ?? '0') } };
  };

  const contention = (jobId: string) =>
    new NanoGridError('INTERNAL', `job ${jobId} changed ${MAX_WRITE_TRIES} times while being written`, {
      plugin: name,
    });

  const waitFor = async (jobId: string, { signal, timeoutMs }: WaitOptions): Promise<JobRecord | undefined> => {
    if (signal?.aborted || closed) return (await read(jobId))?.record;
    let settle!: (r: JobRecord | 'stop') => void;
    const outcome = new Promise<JobRecord | 'stop'>((resolve) => (settle = resolve));
    // Registered and read in one step: a final record written after it is published to this host.
    const joined = await waiters.join(jobId, settle);
    const stop = () => settle('stop');
    let timer: ReturnType<typeof setTimeout> | undefined;
    const recheck = setInterval(() => {
      read(jobId).then(
        (cur) => cur && isFinalStatus(cur.record.status) && settle(cur.record),
        () => {}, // Redis away: the next tick, the timeout or the notice ends the wait
      );
    }, recheckMs);
    stops.add(stop);
    if (closed) stop();
    try {
      const latest = joined.record;
      if (latest && isFinalStatus(latest.status)) return latest;
      signal?.addEventListener('abort', stop, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(stop, Math.min(Math.max(0, timeoutMs), MAX_TIMER_MS));
      const got = await outcome;
      if (got !== 'stop') return got;
      // Timed out or aborted: the latest record, or what we saw when Redis cannot say.
      return await read(jobId).then(
        (cur) => cur?.record,
        () => latest,
      );
    } finally {
      clearTimeout(timer);
      clearInterval(recheck);
      signal?.removeEventListener('abort', stop);
      stops.delete(stop);
      joined.leave();
    }
  };

  return {
    name,
    key,
    channel,
    ...redisTelemetry(link),
    async create(record: JobRecord, createOpts?: CreateOptions) {
      // A sync call's wait follows: register this host in the same script, once its channel listens
      // (if it cannot subscribe now, the wait registers on its own).
      const waiting =
        createOpts?.waiting === true &&
        !closed &&
        (await waiters.ready().then(
          () => true,
          () => false,
        ));
      // A final record is never replaced (WRITE_RECORD refuses): a late duplicate submit cannot undo a result.
      const r = await write(record, '*', true, waiting ? waitChannel : '');
      if (waiting && 'written' in r) waiters.prepare(r.written);
    },
    list(query: JobQuery) {
      return index.list(query);
    },
    async update(jobId: string, patch: JobPatch) {
      const { job_id: _j, function_id: _f, created_at: _c, ...rest } = patch as JobPatch & Partial<JobRecord>;
      let cur = await current(jobId);
      for (let i = 0; i < MAX_WRITE_TRIES; i += 1) {
        if (!cur || isFinalStatus(cur.record.status)) return undefined;
        const next: JobRecord = { ...cur.record, ...rest, updated_at: patch.updated_at ?? new Date().toISOString() };
        const r = await write(next, cur.version, false);
        if ('written' in r) return r.written;
        if ('final' in r) return undefined;
        cur = r.changed;
      }
      throw contention(jobId);
    },
    async get(jobId: string) {
      return (await read(jobId))?.record;
    },
    async claim(claimKey: string, value: string, ttlMs: number) {
      const held = await link.run(async (c) =>
        CLAIM.run(c, [`${link.prefix}claim:${claimKey}`], [value, Math.max(1, Math.ceil(ttlMs))]),
      );
      return typeof held === 'string' ? held : undefined;
    },
    async publish(final: JobRecord) {
      if (!isFinalStatus(final.status)) {
        throw new NanoGridError('BAD_REQUEST', `publish needs a final status, got "${final.status}"`, { plugin: name });
      }
      let cur = await current(final.job_id);
      for (let i = 0; i < MAX_WRITE_TRIES; i += 1) {
        if (cur && isFinalStatus(cur.record.status)) return false;
        // A job first known by its result is indexed with it.
        const r = await write({ ...cur?.record, ...final }, cur?.version ?? '0', !cur);
        if ('written' in r) return true;
        if ('final' in r) return false;
        cur = r.changed;
      }
      throw contention(final.job_id);
    },
    wait(jobId: string, waitOpts: WaitOptions = {}) {
      const p = waitFor(jobId, waitOpts);
      running.add(p);
      void p.finally(() => running.delete(p)).catch(() => undefined);
      return p;
    },
    appendLogs(jobId, lines) {
      return live.append(jobId, lines);
    },
    followLogs(jobId, onLines, followOpts) {
      const p = live.follow(jobId, onLines, followOpts);
      running.add(p);
      void p.finally(() => running.delete(p)).catch(() => undefined);
      return p;
    },
    watchJobs(onJob, followOpts) {
      return live.watch(onJob, followOpts);
    },
    followers() {
      // The waits' shared channel is one listener of the subscriber; each wait counts as one.
      return subscriber.size() - (waiters.listening() ? 1 : 0) + waiters.size();
    },
    waiting() {
      return stops.size;
    },
    async close() {
      if (closed) return;
      closed = true;
      // Answer pending waiters with what is known, then release the connections.
      for (const stop of [...stops]) stop();
      live.close();
      await Promise.allSettled([...running]);
      waiters.close();
      subscriber.close();
      await link.close();
    },
  };
}

import { NanoGridError, isFinalStatus, jobEventRecord } from '@nanogrid/core';
import type { JobPatch, JobQuery, JobRecord, ResultSink, WaitOptions } from '@nanogrid/core';
import { ChannelSubscriber } from './channel-subscriber.js';
import { RedisLink } from './connection.js';
import type { RedisConnectionOptions } from './connection.js';
import { redisJobIndex } from './redis-job-index.js';
import { redisTelemetry } from './redis-telemetry.js';
import { CLAIM, WRITE_RECORD } from './result-scripts.js';
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

/** Tries of read-merge-write before giving up under contention (each retry means another writer won). */
const MAX_WRITE_TRIES = 50;
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Job state in Redis hashes with a TTL; the final record is written once per
 * job id by a Lua script that also PUBLISHes it on `result:{job_id}`.
 * `wait()` subscribes (one shared subscriber connection, ref-counted per
 * channel) before it reads, so a result published in between is not missed.
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

  const key = (jobId: string) => `${link.prefix}job:${jobId}`;
  const channel = (jobId: string) => `${channelPrefix}${jobId}`;
  const index = redisJobIndex(link, ttlSec, key);
  const live = new RedisLive(link, subscriber, {
    ttlSec,
    maxLinesPerJob: opts.maxLogLinesPerJob ?? 20_000,
    recordKey: key,
    resultChannel: channel,
  });

  const read = (jobId: string) =>
    link.run(async (c) => {
      const [record, version] = (await c.call('HMGET', [key(jobId), 'record', 'v'])) as [string | null, string | null];
      return record === null ? undefined : { record: JSON.parse(record) as JobRecord, version: version ?? '0' };
    });

  /** 1 written, 0 lost a race (read again), -1 the stored record is final. */
  const write = (record: JobRecord, expected: string) => {
    const json = JSON.stringify(record);
    const notify = isFinalStatus(record.status) ? channel(record.job_id) : '';
    const event = jobEventRecord(record);
    const eventJson = event === record ? '' : JSON.stringify(event);
    return link.run(async (c) =>
      Number(
        await WRITE_RECORD.run(
          c,
          [key(record.job_id)],
          [expected, record.status, json, ttlSec, notify, live.jobsChannel, eventJson],
        ),
      ),
    );
  };

  const contention = (jobId: string) =>
    new NanoGridError('INTERNAL', `job ${jobId} changed ${MAX_WRITE_TRIES} times while being written`, {
      plugin: name,
    });

  const waitFor = async (jobId: string, { signal, timeoutMs }: WaitOptions): Promise<JobRecord | undefined> => {
    if (signal?.aborted || closed) return (await read(jobId))?.record;
    let settle!: (r: JobRecord | 'stop') => void;
    const outcome = new Promise<JobRecord | 'stop'>((resolve) => (settle = resolve));
    const recheck = () =>
      void read(jobId).then(
        (cur) => cur && isFinalStatus(cur.record.status) && settle(cur.record),
        () => undefined,
      );
    // Subscribe first, then read: a publish between the two is heard on the channel.
    const leave = await subscriber.listen(channel(jobId), {
      message(payload) {
        try {
          const rec = JSON.parse(payload) as JobRecord;
          if (rec.job_id === jobId && isFinalStatus(rec.status)) settle(rec);
        } catch {
          recheck();
        }
      },
      resumed: recheck,
    });
    const stop = () => settle('stop');
    let timer: ReturnType<typeof setTimeout> | undefined;
    stops.add(stop);
    if (closed) stop();
    try {
      const latest = (await read(jobId))?.record;
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
      signal?.removeEventListener('abort', stop);
      stops.delete(stop);
      leave();
    }
  };

  return {
    name,
    key,
    channel,
    ...redisTelemetry(link),
    async create(record: JobRecord) {
      // A final record is never replaced (WRITE_RECORD refuses): a late duplicate submit cannot undo a result.
      if ((await write(record, '*')) === 1) await index.add(record);
    },
    list(query: JobQuery) {
      return index.list(query);
    },
    async update(jobId: string, patch: JobPatch) {
      const { job_id: _j, function_id: _f, created_at: _c, ...rest } = patch as JobPatch & Partial<JobRecord>;
      for (let i = 0; i < MAX_WRITE_TRIES; i += 1) {
        const cur = await read(jobId);
        if (!cur || isFinalStatus(cur.record.status)) return undefined;
        const next: JobRecord = { ...cur.record, ...rest, updated_at: patch.updated_at ?? new Date().toISOString() };
        const r = await write(next, cur.version);
        if (r === 1) return JSON.parse(JSON.stringify(next)) as JobRecord;
        if (r === -1) return undefined;
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
      for (let i = 0; i < MAX_WRITE_TRIES; i += 1) {
        const cur = await read(final.job_id);
        if (cur && isFinalStatus(cur.record.status)) return false;
        const r = await write({ ...cur?.record, ...final }, cur?.version ?? '0');
        if (r === 1 && !cur) await index.add(final); // a job first known by its result
        if (r !== 0) return r === 1;
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
      return subscriber.size();
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
      subscriber.close();
      await link.close();
    },
  };
}

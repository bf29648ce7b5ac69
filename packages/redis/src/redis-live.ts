import { type FollowOptions, type JobRecord, type LogLine, isFinalStatus } from '@nanogrid/core';
import type { ChannelSubscriber } from './channel-subscriber.js';
import type { RedisLink } from './connection.js';
import { APPEND_LOGS, LOG_SNAPSHOT } from './live-scripts.js';

/** A message's JSON, or undefined: a message nobody can read must not throw in the subscriber's handler. */
function parse<T>(payload: string): T | undefined {
  try {
    const v = JSON.parse(payload) as unknown;
    return typeof v === 'object' && v !== null ? (v as T) : undefined;
  } catch {
    return undefined;
  }
}

/** Lines per script call: Lua's unpack has a stack limit of a few thousand values. */
const APPEND_CHUNK = 1000;

export interface RedisLiveOptions {
  ttlSec: number;
  /** Lines kept per job. */
  maxLinesPerJob: number;
  /** The job's hash (its record). */
  recordKey(jobId: string): string;
  /** The channel its final record is published on. */
  resultChannel(jobId: string): string;
}

/**
 * Live logs and job events over Redis: a bounded list per job (expiring with
 * the record) plus a channel per job for new lines, and one channel for job
 * status changes (written by the record script). A follower subscribes, then
 * reads the list and the record in one script; each published batch says at
 * which index it starts, so what the read already gave is skipped, and a gap
 * (messages lost while the subscriber reconnected) is read from the list.
 */
export class RedisLive {
  /** Ends the pending follows (the store closes). */
  private readonly stops = new Set<() => void>();

  constructor(
    private readonly link: RedisLink,
    private readonly subscriber: ChannelSubscriber,
    private readonly opts: RedisLiveOptions,
  ) {}

  get jobsChannel(): string {
    return `${this.link.prefix}jobs`;
  }

  private listKey(jobId: string): string {
    return `${this.link.prefix}logs:${jobId}`;
  }

  private logChannel(jobId: string): string {
    return `${this.link.prefix}logs:${jobId}`;
  }

  async append(jobId: string, lines: LogLine[]): Promise<void> {
    const texts = lines.map((l) => JSON.stringify({ stream: l.stream, line: l.line, t: l.t }));
    for (let at = 0; at < texts.length; at += APPEND_CHUNK) {
      const chunk = texts.slice(at, at + APPEND_CHUNK);
      await this.link.run((c) =>
        APPEND_LOGS.run(
          c,
          [this.listKey(jobId)],
          [this.opts.ttlSec, this.opts.maxLinesPerJob, this.logChannel(jobId), ...chunk],
        ),
      );
    }
  }

  async follow(
    jobId: string,
    onLines: (lines: LogLine[]) => void,
    { signal, live = true }: FollowOptions,
  ): Promise<JobRecord | undefined> {
    if (signal.aborted) return undefined;
    if (!live) return this.snapshot(jobId, onLines);
    let settle!: (r: JobRecord | undefined) => void;
    const outcome = new Promise<JobRecord | undefined>((resolve) => (settle = resolve));
    let done = false;
    let ready = false;
    let delivered = 0;
    const queued: ({ from: number; lines: LogLine[] } | JobRecord)[] = [];
    const finish = (r: JobRecord | undefined) => {
      done = true;
      settle(r);
    };
    const deliver = (lines: LogLine[]) => {
      if (!done && lines.length > 0) onLines(lines);
    };
    /** Reads the lines after what was delivered, and the record: the start, and after a gap or a reconnect. */
    const catchUp = async () => {
      const start = delivered;
      const [raw, record] = (await this.link.run((c) =>
        LOG_SNAPSHOT.run(c, [this.listKey(jobId), this.opts.recordKey(jobId)], [start]),
      )) as [string[], string | null];
      if (done) return;
      // Lines delivered meanwhile (live, or by another catch-up) are not delivered twice.
      const lines = raw.slice(delivered - start).map((t) => JSON.parse(t) as LogLine);
      delivered += lines.length;
      deliver(lines);
      if (record === null) return finish(undefined);
      const rec = JSON.parse(record) as JobRecord;
      if (isFinalStatus(rec.status)) finish(rec);
    };
    const handle = (item: { from: number; lines: LogLine[] } | JobRecord) => {
      if (done) return;
      if ('job_id' in item) return finish(item);
      if (item.from > delivered) return void catchUp().catch(() => undefined); // lost messages: read them
      const fresh = item.lines.slice(delivered - item.from);
      delivered += fresh.length;
      deliver(fresh);
    };
    const take = (item: { from: number; lines: LogLine[] } | JobRecord) => (ready ? handle(item) : queued.push(item));
    const resumed = () => void catchUp().catch(() => undefined);
    const leaves: (() => void)[] = [];
    const stop = () => finish(undefined);
    signal.addEventListener('abort', stop, { once: true });
    this.stops.add(stop);
    try {
      // Both channels share one connection: a job's last lines arrive before its final record.
      leaves.push(
        await this.subscriber.listen(this.logChannel(jobId), {
          message: (payload) => {
            const batch = parse<{ from: number; lines: LogLine[] }>(payload);
            if (batch && typeof batch.from === 'number' && Array.isArray(batch.lines)) take(batch);
            else resumed(); // not ours to read: read the list instead
          },
          resumed,
        }),
      );
      leaves.push(
        await this.subscriber.listen(this.opts.resultChannel(jobId), {
          message: (payload) => {
            const rec = parse<JobRecord>(payload);
            if (rec?.job_id === jobId && isFinalStatus(rec.status)) take(rec);
          },
          resumed,
        }),
      );
      if (!done) await catchUp();
      ready = true;
      for (const item of queued.splice(0)) handle(item);
      return await outcome;
    } finally {
      done = true;
      signal.removeEventListener('abort', stop);
      this.stops.delete(stop);
      for (const leave of leaves) leave();
    }
  }

  /** The lines so far and the record as it is (one consistent read, no subscription). */
  private async snapshot(jobId: string, onLines: (lines: LogLine[]) => void): Promise<JobRecord | undefined> {
    const [raw, record] = (await this.link.run((c) =>
      LOG_SNAPSHOT.run(c, [this.listKey(jobId), this.opts.recordKey(jobId)], [0]),
    )) as [string[], string | null];
    if (record === null) return undefined;
    if (raw.length > 0) onLines(raw.map((t) => JSON.parse(t) as LogLine));
    return JSON.parse(record) as JobRecord;
  }

  /** Answers every pending follow with undefined. */
  close(): void {
    for (const stop of [...this.stops]) stop();
  }

  async watch(onJob: (record: JobRecord) => void, { signal }: FollowOptions): Promise<void> {
    if (signal.aborted) return;
    const leave = await this.subscriber.listen(this.jobsChannel, {
      message: (payload) => {
        const rec = parse<JobRecord>(payload);
        if (rec && !signal.aborted) onJob(rec);
      },
      resumed: () => undefined, // events missed while disconnected are not replayed: GET /jobs has the state
    });
    if (signal.aborted) leave();
    else signal.addEventListener('abort', leave, { once: true });
  }
}

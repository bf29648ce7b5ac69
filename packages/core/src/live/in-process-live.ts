import { isFinalStatus } from '../job.js';
import type { JobRecord } from '../job.js';
import type { FollowOptions, LogLine } from '../plugins/result-sink.js';
import { jobEventRecord } from './job-event.js';

const DAY_MS = 86_400_000;

export interface InProcessLiveOptions {
  /** Lines kept per job; later ones are dropped. @default 20_000 */
  maxLinesPerJob?: number;
  /** How long a final job's lines stay (for a follower racing the end); its record's `logs` stay with it. @default 60_000 */
  keepAfterEndMs?: number;
  /**
   * Characters of lines held for all jobs at once: past it, lines of ended jobs go first
   * (oldest first), then new lines are dropped from the live stream (the records keep their logs). @default 64 MiB
   */
  maxTotalChars?: number;
}

interface JobLines {
  lines: LogLine[];
  /** Characters of its lines, counted against maxTotalChars. */
  chars: number;
  createdAt: number;
  followers: Set<(lines: LogLine[]) => void>;
  /** When the job turned final. */
  endedAt?: number;
}

/**
 * Live logs and job events for a store owned by one process (memory, SQLite):
 * lines of running jobs in memory, listeners called synchronously, so a
 * follower hears lines and the final record in the order they were written.
 * The store calls `jobChanged` on every write and reads records through `read`.
 */
export class InProcessLive {
  private readonly jobs = new Map<string, JobLines>();
  private readonly watchers = new Set<(record: JobRecord) => void>();
  private readonly ends = new Map<string, Set<(record: JobRecord) => void>>();
  /** Ends a pending follow (the store closes). */
  private readonly stops = new Set<() => void>();
  private readonly maxLines: number;
  private readonly keepMs: number;
  private readonly maxTotal: number;
  private total = 0;
  private lastSweep = Date.now();

  constructor(
    private readonly read: (jobId: string) => Promise<JobRecord | undefined>,
    opts: InProcessLiveOptions = {},
  ) {
    this.maxLines = opts.maxLinesPerJob ?? 20_000;
    this.keepMs = opts.keepAfterEndMs ?? 60_000;
    this.maxTotal = opts.maxTotalChars ?? 64 * 1024 * 1024;
  }

  /** Characters of lines held now (for tests of the bound). */
  heldChars(): number {
    return this.total;
  }

  /** Listeners (followers and watchers) registered now, for leak checks. */
  listeners(): number {
    let n = this.watchers.size;
    for (const j of this.jobs.values()) n += j.followers.size;
    return n;
  }

  /** The store wrote `record` (a copy the hub may keep). */
  jobChanged(record: JobRecord): void {
    if (this.watchers.size > 0) {
      const event = jobEventRecord(record);
      for (const w of [...this.watchers]) w(JSON.parse(JSON.stringify(event)) as JobRecord);
    }
    if (!isFinalStatus(record.status)) return;
    const now = Date.now();
    const job = this.jobs.get(record.job_id);
    if (job) job.endedAt ??= now;
    for (const end of [...(this.ends.get(record.job_id) ?? [])]) end(record);
    if (now - this.lastSweep > this.keepMs) this.sweep(now);
  }

  append(jobId: string, lines: LogLine[]): void {
    let job = this.jobs.get(jobId);
    if (!job) this.jobs.set(jobId, (job = { lines: [], chars: 0, followers: new Set(), createdAt: Date.now() }));
    if (job.endedAt !== undefined) return; // a run's leftovers after the end belong to no one
    const room = this.maxLines - job.lines.length;
    if (room <= 0) return;
    const batch = lines.slice(0, room).map((l) => ({ stream: l.stream, line: l.line, t: l.t }));
    let chars = 0;
    for (const l of batch) chars += l.line.length + 16;
    if (this.total + chars > this.maxTotal && !this.makeRoom(chars)) return;
    job.chars += chars;
    this.total += chars;
    job.lines.push(...batch);
    for (const f of [...job.followers]) f(batch);
  }

  async follow(
    jobId: string,
    onLines: (lines: LogLine[]) => void,
    { signal, live = true }: FollowOptions,
  ): Promise<JobRecord | undefined> {
    const record = await this.read(jobId);
    if (!record || signal.aborted) return undefined;
    let job = this.jobs.get(jobId);
    if (!job) this.jobs.set(jobId, (job = { lines: [], chars: 0, followers: new Set(), createdAt: Date.now() }));
    // Synchronous from the snapshot until the listener is in: no line can come in between.
    if (job.lines.length > 0) onLines(job.lines.slice());
    if (isFinalStatus(record.status) || !live) return record;
    const current = job;
    let settle!: (r: JobRecord | undefined) => void;
    const outcome = new Promise<JobRecord | undefined>((resolve) => (settle = resolve));
    const ends = this.ends.get(jobId) ?? new Set();
    this.ends.set(jobId, ends);
    const end = (r: JobRecord) => settle(JSON.parse(JSON.stringify(r)) as JobRecord);
    const stop = () => settle(undefined);
    current.followers.add(onLines);
    ends.add(end);
    this.stops.add(stop);
    signal.addEventListener('abort', stop, { once: true });
    try {
      // The job may have ended between the read and the listener: read again, now that the end is heard.
      const latest = await this.read(jobId);
      if (latest && isFinalStatus(latest.status)) settle(latest);
      return await outcome;
    } finally {
      current.followers.delete(onLines);
      ends.delete(end);
      if (ends.size === 0 && this.ends.get(jobId) === ends) this.ends.delete(jobId);
      this.stops.delete(stop);
      signal.removeEventListener('abort', stop);
    }
  }

  async watch(onJob: (record: JobRecord) => void, { signal }: FollowOptions): Promise<void> {
    if (signal.aborted) return;
    this.watchers.add(onJob);
    signal.addEventListener('abort', () => this.watchers.delete(onJob), { once: true });
  }

  /** Ends every follower (undefined) and watcher: the store closes. */
  close(): void {
    this.watchers.clear();
    for (const stop of [...this.stops]) stop();
  }

  /** Drops the lines of ended jobs, oldest first, until `chars` fit; false when they still do not. */
  private makeRoom(chars: number): boolean {
    const ended = [...this.jobs].filter(([, j]) => j.endedAt !== undefined && j.followers.size === 0);
    ended.sort(([, a], [, b]) => (a.endedAt ?? 0) - (b.endedAt ?? 0));
    for (const [id, job] of ended) {
      if (this.total + chars <= this.maxTotal) break;
      this.drop(id, job);
    }
    return this.total + chars <= this.maxTotal;
  }

  private drop(id: string, job: JobLines): void {
    this.jobs.delete(id);
    this.total -= job.chars;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [id, job] of this.jobs) {
      if (job.followers.size > 0) continue;
      // Ended a while ago, or never ended (its worker died) within a day.
      if ((job.endedAt !== undefined && now - job.endedAt > this.keepMs) || now - job.createdAt > DAY_MS)
        this.drop(id, job);
    }
  }
}

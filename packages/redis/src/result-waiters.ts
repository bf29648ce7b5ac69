import { type JobRecord, isFinalStatus } from '@nanogrid/core';
import type { ChannelSubscriber } from './channel-subscriber.js';
import type { RedisLink } from './connection.js';

type OnFinal = (record: JobRecord) => void;

/** Creates registered ahead of their wait that are remembered (oldest forgotten first). */
const MAX_PREPARED = 4096;

interface Entry {
  listeners: Set<OnFinal>;
  /** The record as read when this host registered for the job (undefined: none yet). */
  registered: Promise<JobRecord | undefined>;
}

export interface ResultWaitersOptions {
  /** This instance's own channel: final records of the jobs it waits for are published there. */
  channel: string;
  /** Adds `channel` to the job's waiters and reads its record, atomically (REGISTER_WAIT). */
  register(jobId: string): Promise<JobRecord | undefined>;
}

/** What `join` gives a waiter. */
export interface Joined {
  /** The record when this host registered for the job; a final one ends the wait at once. */
  record: JobRecord | undefined;
  leave(): void;
}

/**
 * The waits of one results instance, on one channel of its own, subscribed once: a wait costs one
 * round trip (register + read), not a SUBSCRIBE, a read and an UNSUBSCRIBE. The final write publishes
 * the record on the channels of the hosts registered for the job, and the record is handed to every
 * local waiter of that job. A second wait of a job already registered here (the cancel watch beside a
 * sync wait) costs nothing: a final record written after the first registration reaches this channel.
 */
export class ResultWaiters {
  private readonly jobs = new Map<string, Entry>();
  /** Jobs registered by their create (a sync call), each with its record then, until its wait joins. */
  private readonly prepared = new Map<string, JobRecord>();
  private subscribed: Promise<() => void> | undefined;
  private active = false;

  constructor(
    private readonly link: RedisLink,
    private readonly subscriber: ChannelSubscriber,
    private readonly opts: ResultWaitersOptions,
  ) {}

  /** Subscribes this instance's channel, before a create registers it on a job. */
  ready(): Promise<unknown> {
    return this.subscribe();
  }

  /**
   * The job's create registered this host (the channel was subscribed before): its wait needs no
   * round trip. Bounded; one forgotten (its wait never came, or came late) just registers again.
   */
  prepare(record: JobRecord): void {
    this.prepared.set(record.job_id, record);
    if (this.prepared.size > MAX_PREPARED) this.prepared.delete(this.prepared.keys().next().value as string);
  }

  /** Registers `onFinal` for the job's final record (after the channel is subscribed and the host registered). */
  async join(jobId: string, onFinal: OnFinal): Promise<Joined> {
    await this.subscribe();
    let entry = this.jobs.get(jobId);
    const early = entry ? undefined : this.prepared.get(jobId);
    if (early) {
      this.prepared.delete(jobId);
      this.jobs.set(jobId, (entry = { listeners: new Set(), registered: Promise.resolve(early) }));
    }
    if (!entry) {
      const created: Entry = { listeners: new Set(), registered: this.register(jobId) };
      this.jobs.set(jobId, (entry = created));
      created.registered.catch(() => {
        if (this.jobs.get(jobId) === created) this.jobs.delete(jobId);
      });
    }
    const joined = entry;
    joined.listeners.add(onFinal);
    const leave = () => {
      if (!joined.listeners.delete(onFinal) || joined.listeners.size > 0) return;
      if (this.jobs.get(jobId) === joined) this.jobs.delete(jobId);
    };
    try {
      return { record: await joined.registered, leave };
    } catch (err) {
      leave();
      throw this.link.error(err);
    }
  }

  /** Waits registered here (for leak checks). */
  size(): number {
    let n = 0;
    for (const e of this.jobs.values()) n += e.listeners.size;
    return n;
  }

  /** True while this instance's channel has its listener on the subscriber. */
  listening(): boolean {
    return this.active;
  }

  close(): void {
    this.jobs.clear();
    this.prepared.clear();
    this.active = false;
    void this.subscribed?.then((leave) => leave()).catch(() => undefined);
  }

  private register(jobId: string): Promise<JobRecord | undefined> {
    return this.opts.register(jobId).then((record) => {
      if (record && isFinalStatus(record.status)) this.deliver(record);
      return record;
    });
  }

  /** Hands a final record to the job's waiters; the job is done with here. */
  private deliver(record: JobRecord): void {
    this.prepared.delete(record.job_id); // its wait, if it comes, reads the final record
    const entry = this.jobs.get(record.job_id);
    if (!entry) return;
    this.jobs.delete(record.job_id);
    for (const l of [...entry.listeners]) l(record);
  }

  private subscribe(): Promise<() => void> {
    if (!this.subscribed) {
      const opening = this.subscriber.listen(this.opts.channel, {
        message: (payload) => {
          let record: JobRecord | undefined;
          try {
            record = JSON.parse(payload) as JobRecord;
          } catch {
            return; // only our final writes publish here
          }
          if (record && typeof record.job_id === 'string' && isFinalStatus(record.status)) this.deliver(record);
        },
        // Messages published while the connection was down are lost: register again and read each job
        // (a job registered by its create and not yet waited for registers when its wait comes).
        resumed: () => {
          this.prepared.clear();
          for (const [jobId, entry] of this.jobs) {
            entry.registered = this.register(jobId);
            entry.registered.catch(() => undefined);
          }
        },
      });
      this.active = true;
      // A failed subscribe is not kept: the next wait tries again.
      opening.catch(() => {
        if (this.subscribed !== opening) return;
        this.subscribed = undefined;
        this.active = false;
      });
      this.subscribed = opening;
    }
    return this.subscribed;
  }
}

import { buffer } from 'node:stream/consumers';
import { ENGINE_OPTIONS, LOGGER, RESULTS, STORAGE } from '../di/tokens.js';
import { inject, injectable } from '../di/tsyringe.js';
import type { EngineOptions } from '../engine/engine-options.js';
import { isNanoGridError } from '../errors.js';
import { type JobRecord, isFinalStatus } from '../job.js';
import type { Logger } from '../logger.js';
import type { ResultSink } from '../plugins/result-sink.js';
import type { StorageBackend } from '../plugins/storage-backend.js';
import { redactCallbackUrl } from './callback-url-guard.js';
import { parallelGate } from './parallel-gate.js';
import { postCallback } from './post-callback.js';
import { DELIVERY_HEADER, SIGNATURE_HEADER, callbackBody, signBody } from './webhook-message.js';

/** One callback still to deliver, kept in storage until it is delivered or given up. */
export interface WebhookEntry {
  /** `X-NanoGrid-Delivery`: the same on every attempt. */
  id: string;
  job_id: string;
  url: string;
  format: 'json' | 'slack';
  /** The final record as the worker wrote it: sent when the result store no longer has it (a restart). */
  record: JobRecord;
  attempts: number;
  /** Epoch ms before which the entry is not attempted. */
  next_at: number;
  /** Epoch ms the entry was written: it is given up `maxAgeMs` later. */
  created: number;
  last_error?: string;
}

export const WEBHOOK_OUTBOX_PREFIX = 'webhooks/pending/';

/** What became of one attempt (a metrics label). */
export type DeliveryOutcome = 'delivered' | 'retry' | 'failed' | 'expired';

/** How long an attempt slot stays taken: far longer than any sweep can lag behind an update. */
const SLOT_TTL_MS = 3_600_000;

/** Deliveries in flight per process, and outbox entries read at once by a sweep. */
export const MAX_PARALLEL_DELIVERIES = 16;

const keyOf = (jobId: string): string => `${WEBHOOK_OUTBOX_PREFIX + jobId}.json`;

/**
 * Completion webhooks, at least once. The worker that finishes a job records
 * the callback in a durable outbox in the storage backend (before it publishes
 * the record), then tries it at once; failures are retried with exponential
 * backoff by timers here and, after a restart, by any process's sweep. Every
 * attempt first takes a slot (`results.claim` on delivery id + due time), so
 * processes sharing the storage and results never send the same attempt twice.
 */
@injectable()
export class WebhookOutbox {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private sweeping: Promise<void> | undefined;
  private readonly retries = new Set<ReturnType<typeof setTimeout>>();
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;
  private readonly posts = parallelGate(MAX_PARALLEL_DELIVERIES);
  private readonly reads = parallelGate(MAX_PARALLEL_DELIVERIES);
  /** Called once per attempt (metrics). */
  onAttempt: (outcome: DeliveryOutcome) => void = () => undefined;

  constructor(
    @inject(STORAGE) private readonly storage: StorageBackend,
    @inject(RESULTS) private readonly results: ResultSink,
    @inject(ENGINE_OPTIONS) private readonly options: EngineOptions,
    @inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Records the callback of a job about to be final. Never rejects: a failure to record is logged. */
  async record(final: JobRecord): Promise<void> {
    if (!final.callback_url) return;
    try {
      // A late duplicate run of a job already published records nothing (its callback is the winner's).
      const current = await this.results.get(final.job_id);
      if (current && isFinalStatus(current.status)) return;
    } catch {
      // The publish that follows will fail the same way; recording does no harm.
    }
    const now = Date.now();
    const entry: WebhookEntry = {
      id: final.job_id,
      job_id: final.job_id,
      url: final.callback_url,
      format: final.callback_format ?? 'json',
      record: final,
      attempts: 0,
      next_at: now,
      created: now,
    };
    try {
      await this.save(entry);
    } catch (err) {
      this.logger.error('webhook: could not record a callback; it is not delivered', {
        job_id: final.job_id,
        error: (err as Error).message,
      });
    }
  }

  /** Tries the job's recorded callback now, in the background. */
  kick(jobId: string): void {
    this.track(
      this.load(keyOf(jobId)).then((entry) => (entry && entry.next_at <= Date.now() ? this.attempt(entry) : undefined)),
    );
  }

  /** Sweeps the outbox every `sweepMs` (and once at once) for entries other processes left. */
  start(): void {
    if (this.timer) return;
    this.stopped = false;
    const tick = (): void => {
      this.sweeping = this.sweep().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, this.options.webhooks.sweepMs).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  /** Stops sweeping and retrying; waits for attempts under way. Pending entries stay for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const t of this.retries) clearTimeout(t);
    this.retries.clear();
    await this.sweeping;
    await Promise.allSettled([...this.inFlight]);
  }

  /** Callbacks not delivered yet. */
  async pending(): Promise<WebhookEntry[]> {
    const objects = await this.storage.list(WEBHOOK_OUTBOX_PREFIX);
    const entries = await Promise.all(objects.map((o) => this.reads.run(() => this.load(o.key))));
    return entries.filter((e): e is WebhookEntry => e !== undefined);
  }

  /** One pass over the outbox: entries that are due are attempted. */
  async sweep(now = Date.now()): Promise<void> {
    let entries: WebhookEntry[];
    try {
      entries = await this.pending();
    } catch (err) {
      this.logger.warn('webhook: cannot read the outbox', { error: (err as Error).message });
      return;
    }
    await Promise.all(entries.filter((e) => e.next_at <= now).map((e) => this.attempt(e)));
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** One attempt of one entry, waiting for one of this process's delivery slots first. */
  private attempt(entry: WebhookEntry): Promise<void> {
    return this.posts.run(() => this.attemptNow(entry));
  }

  /** One attempt of one entry, unless another process (or timer) holds its slot. */
  private async attemptNow(entry: WebhookEntry): Promise<void> {
    // Also when it stopped while this attempt waited: the entry stays for the next start.
    if (this.stopped) return;
    const w = this.options.webhooks;
    const slot = `webhook:${entry.id}:${entry.next_at}`;
    try {
      if (this.results.claim && (await this.results.claim(slot, String(process.pid), SLOT_TTL_MS)) !== undefined)
        return;
    } catch (err) {
      this.logger.warn('webhook: cannot take an attempt slot; will retry', {
        id: entry.id,
        error: (err as Error).message,
      });
      return;
    }
    if (Date.now() - entry.created > w.maxAgeMs) return this.giveUp(entry, 'expired', entry.last_error ?? 'too old');
    // The result store's record is the one published (a lost race may have recorded another).
    const stored = await this.results.get(entry.job_id).catch(() => undefined);
    const record = stored && isFinalStatus(stored.status) ? stored : entry.record;
    const body = callbackBody(record, entry.format, record.function_name);
    const headers: Record<string, string> = { [DELIVERY_HEADER]: entry.id };
    if (w.secret) headers[SIGNATURE_HEADER] = signBody(body, w.secret);
    const answer = await postCallback(entry.url, body, { policy: w.policy, timeoutMs: w.timeoutMs, headers });
    if (answer.ok) {
      this.onAttempt('delivered');
      this.logger.info('webhook delivered', { id: entry.id, status: answer.status, attempts: entry.attempts + 1 });
      return this.remove(entry);
    }
    // Logged and stored: a refusal's message names the URL, whose path may be the secret (Slack's).
    const why = (answer.error ?? `HTTP ${answer.status}`).replaceAll(entry.url, redactCallbackUrl(entry.url));
    if (!answer.retry) return this.giveUp(entry, 'failed', why);
    const attempts = entry.attempts + 1;
    const delay = Math.min(w.retryMs * 2 ** (attempts - 1), w.maxDelayMs);
    const next: WebhookEntry = { ...entry, attempts, next_at: Date.now() + delay, last_error: why };
    if (next.next_at - entry.created > w.maxAgeMs) return this.giveUp(next, 'expired', why);
    this.onAttempt('retry');
    if (attempts === 1 || attempts % 10 === 0)
      this.logger.warn('webhook not delivered; will retry', { id: entry.id, attempts, delay_ms: delay, error: why });
    try {
      await this.save(next);
    } catch (err) {
      this.logger.warn('webhook: could not update the outbox', { id: entry.id, error: (err as Error).message });
      return;
    }
    // Short delays are waited here; longer ones are the sweep's (which also covers a restart).
    if (delay < w.sweepMs && !this.stopped) {
      const t = setTimeout(() => {
        this.retries.delete(t);
        this.track(this.attempt(next));
      }, delay).unref();
      this.retries.add(t);
    }
  }

  private async giveUp(entry: WebhookEntry, outcome: 'failed' | 'expired', why: string): Promise<void> {
    this.onAttempt(outcome);
    this.logger.error('webhook given up', {
      id: entry.id,
      url: redactCallbackUrl(entry.url),
      outcome,
      attempts: entry.attempts,
      error: why,
    });
    await this.remove(entry);
  }

  private async remove(entry: WebhookEntry): Promise<void> {
    await this.storage
      .delete(keyOf(entry.job_id))
      .catch((err: Error) =>
        this.logger.warn('webhook: could not clear the outbox', { id: entry.id, error: err.message }),
      );
  }

  private async save(entry: WebhookEntry): Promise<void> {
    await this.storage.put(keyOf(entry.job_id), JSON.stringify(entry), { contentType: 'application/json' });
  }

  private async load(key: string): Promise<WebhookEntry | undefined> {
    try {
      return JSON.parse((await buffer(await this.storage.get(key))).toString('utf8')) as WebhookEntry;
    } catch (err) {
      if (isNanoGridError(err, 'NOT_FOUND')) return undefined; // delivered by another process meanwhile
      this.logger.warn('webhook: unreadable outbox entry skipped', { key, error: (err as Error).message });
      return undefined;
    }
  }
}

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobMessage } from '../job.js';
import type { Delivery, QueueSource } from '../plugins/queue-source.js';
import { BUDGET_BYTES, queueBudgetCases } from './budget-cases.js';
import { eventually, receiveUntil, sampleJob, sleep } from './helpers.js';

/** What the suite asks of the factory; a backend must honour both. */
export interface QueueFactoryOptions {
  visibilityTimeoutMs: number;
  maxAttempts: number;
}

/** A fresh queue plus how to dispose of what the factory created (a server-side queue …). */
export interface QueueFixture<Q extends QueueSource = QueueSource> {
  queue: Q;
  cleanup?(): Promise<void>;
}

export type QueueFactory<Q extends QueueSource = QueueSource> = (
  opts: QueueFactoryOptions,
) => Promise<Q | QueueFixture<Q>>;

/** A dead-lettered message as the backend can show it. */
export interface DeadLetterView {
  job?: JobMessage | undefined;
  body?: unknown;
  reason?: string;
}

export interface QueueSuiteOptions<Q extends QueueSource = QueueSource> {
  /** Visibility timeout handed to the factory; redelivery tests wait a few of these. @default 300 */
  visibilityTimeoutMs?: number;
  /** Deliveries before dead-lettering, handed to the factory. @default 3 */
  maxAttempts?: number;
  /** Messages in the "none lost, none duplicated" test. @default 200 */
  manyMessages?: number;
  /** Tolerance for network round trips and coarse backend clocks, ms. @default 2000 */
  slackMs?: number;
  /** How long `depth()` may lag behind (approximate counters such as SQS). @default 5000 */
  depthSettleMs?: number;
  /** Lists dead letters; adds checks that a job given up on lands there. */
  deadLetters?(queue: Q): Promise<DeadLetterView[]>;
  /** Puts a raw message body as an outside producer would; adds the message-shape tests. */
  sendRaw?(queue: Q, body: string): Promise<void>;
  /** A queue with a byte budget of `maxBytes` (`limits.maxQueuedBytes`); adds the budget tests. */
  bounded?(maxBytes: number): Promise<Q | QueueFixture<Q>>;
}

function isFixture<Q extends QueueSource>(v: Q | QueueFixture<Q>): v is QueueFixture<Q> {
  return 'queue' in v && typeof (v as QueueFixture<Q>).queue?.send === 'function';
}

/**
 * The behaviour every QueueSource must show, through the interface only:
 * at-least-once delivery, visibility timeout, retry/extend, dead-lettering,
 * long-poll, abort, depth, and no loss or duplication under concurrency.
 */
export function testQueueSource<Q extends QueueSource>(
  name: string,
  factory: QueueFactory<Q>,
  opts: QueueSuiteOptions<Q> = {},
): void {
  const V = opts.visibilityTimeoutMs ?? 300;
  const maxAttempts = opts.maxAttempts ?? 3;
  const slack = opts.slackMs ?? 2000;
  const settle = opts.depthSettleMs ?? 5000;
  const many = opts.manyMessages ?? 200;
  const timeout = 20_000 + V * 12 + slack * 4;

  describe(`QueueSource conformance: ${name}`, () => {
    let fx: QueueFixture<Q>;
    let q: Q;
    beforeEach(async () => {
      const made = await factory({ visibilityTimeoutMs: V, maxAttempts });
      fx = isFixture(made) ? made : { queue: made };
      q = fx.queue;
    });
    afterEach(async () => {
      await q.close();
      await fx.cleanup?.();
    });

    const one = async (waitMs = slack + V): Promise<Delivery> => {
      const got = await receiveUntil(q, 1, waitMs);
      expect(got).toHaveLength(1);
      return got[0]!;
    };

    it(
      'delivers a sent job unchanged with attempt 1, and ack removes it',
      async () => {
        const job = sampleJob({ memory_mb: 256, submitted_at: new Date().toISOString() });
        await q.send(job);
        const d = await one();
        expect(d.job).toEqual(job);
        expect(d.attempt).toBe(1);
        expect(typeof d.id).toBe('string');
        await d.ack();
        expect(await receiveUntil(q, 1, V * 2 + 200)).toEqual([]);
      },
      timeout,
    );

    it(
      'does not deliver a job twice while it is in flight',
      async () => {
        await q.send(sampleJob());
        const d = await one();
        expect(await q.receive({ max: 10, waitMs: Math.max(50, V / 3) })).toEqual([]);
        await d.ack();
      },
      timeout,
    );

    it(
      'redelivers an unacknowledged job after the visibility timeout with attempt + 1',
      async () => {
        const job = sampleJob();
        await q.send(job);
        await one();
        const t0 = Date.now();
        const again = await one(V * 3 + slack);
        expect(Date.now() - t0).toBeGreaterThanOrEqual(V * 0.8);
        expect(again.job.job_id).toBe(job.job_id);
        expect(again.attempt).toBe(2);
        await again.ack();
      },
      timeout,
    );

    it(
      'retry() makes the job visible again at once and counts an attempt',
      async () => {
        const job = sampleJob();
        await q.send(job);
        await (await one()).retry();
        const again = await one(slack);
        expect(again.job.job_id).toBe(job.job_id);
        expect(again.attempt).toBe(2);
        await again.ack();
      },
      timeout,
    );

    it(
      'retry(delayMs) hides the job for the delay',
      async () => {
        await q.send(sampleJob());
        const d = await one();
        const t0 = Date.now();
        await d.retry(V * 2);
        expect(await q.receive({ max: 1, waitMs: V / 2 })).toEqual([]);
        const again = await one(V * 3 + slack);
        expect(Date.now() - t0).toBeGreaterThanOrEqual(V * 2 * 0.8);
        expect(again.attempt).toBe(2);
        await again.ack();
      },
      timeout,
    );

    it(
      'extend() keeps a running job from being redelivered',
      async () => {
        await q.send(sampleJob());
        const d = await one();
        await d.extend(V * 4);
        await sleep(V * 1.5);
        expect(await q.receive({ max: 1, waitMs: V / 2 })).toEqual([]);
        await d.ack();
        expect(await receiveUntil(q, 1, V * 3)).toEqual([]);
      },
      timeout,
    );

    const expectDeadLettered = async (job: JobMessage) => {
      expect(await receiveUntil(q, 1, V * 2 + 500)).toEqual([]);
      if (opts.deadLetters) {
        const found = await eventually(async () => {
          const dls = await opts.deadLetters!(q);
          const hit = dls.find((d) => d.job?.job_id === job.job_id);
          expect(hit).toBeDefined();
          return hit!;
        }, slack);
        expect(found.job).toEqual(job);
      }
    };

    it(
      `dead-letters a job after maxAttempts (${maxAttempts}) deliveries ended by retry()`,
      async () => {
        const job = sampleJob();
        await q.send(job);
        for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
          const d = await one(slack + V);
          expect(d.attempt).toBe(attempt);
          await d.retry();
        }
        await expectDeadLettered(job);
      },
      timeout,
    );

    it(
      `dead-letters a job after maxAttempts (${maxAttempts}) visibility timeouts`,
      async () => {
        const job = sampleJob();
        await q.send(job);
        for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
          const d = await one(V * 3 + slack);
          expect(d.attempt).toBe(attempt);
        }
        await expectDeadLettered(job);
      },
      timeout + V * maxAttempts * 3,
    );

    it(
      'a long-poll receive wakes as soon as a job is sent',
      async () => {
        const t0 = Date.now();
        const pending = q.receive({ max: 1, waitMs: 15_000 });
        await sleep(100);
        const job = sampleJob();
        await q.send(job);
        const got = await pending;
        expect(got.map((d) => d.job.job_id)).toEqual([job.job_id]);
        expect(Date.now() - t0).toBeLessThan(100 + slack);
        await got[0]!.ack();
      },
      timeout,
    );

    it(
      'an empty receive returns [] within its wait',
      async () => {
        const t0 = Date.now();
        expect(await q.receive({ max: 5, waitMs: 300 })).toEqual([]);
        expect(Date.now() - t0).toBeLessThan(300 + slack);
      },
      timeout,
    );

    it(
      'abort ends a pending receive with [] and loses no job',
      async () => {
        const ac = new AbortController();
        const pending = q.receive({ max: 1, waitMs: 15_000, signal: ac.signal });
        await sleep(100);
        const t0 = Date.now();
        ac.abort();
        expect(await pending).toEqual([]);
        expect(Date.now() - t0).toBeLessThan(slack);
        const job = sampleJob();
        await q.send(job);
        const d = await one(V * 2 + slack);
        expect(d.job.job_id).toBe(job.job_id);
        await d.ack();
      },
      timeout,
    );

    it(
      'a receive with an already aborted signal takes nothing',
      async () => {
        const job = sampleJob();
        await q.send(job);
        expect(await q.receive({ max: 1, waitMs: 1000, signal: AbortSignal.abort() })).toEqual([]);
        const d = await one();
        expect(d.job.job_id).toBe(job.job_id);
        expect(d.attempt).toBe(1);
        await d.ack();
      },
      timeout,
    );

    it(
      'depth() counts waiting jobs, not in-flight ones',
      async () => {
        const expectDepth = (n: number) => eventually(async () => expect(await q.depth()).toBe(n), settle, 100);
        await expectDepth(0);
        for (let i = 0; i < 3; i += 1) await q.send(sampleJob());
        await expectDepth(3);
        const [d] = await q.receive({ max: 1, waitMs: slack });
        expect(d).toBeDefined();
        await expectDepth(2);
        await d!.ack();
        const rest = await receiveUntil(q, 2, slack + V);
        expect(rest).toHaveLength(2);
        await Promise.all(rest.map((r) => r.ack()));
        await expectDepth(0);
      },
      timeout + settle * 4,
    );

    it(
      'max caps the deliveries of one receive',
      async () => {
        await Promise.all(Array.from({ length: 5 }, () => q.send(sampleJob())));
        const first = await q.receive({ max: 2, waitMs: slack });
        expect(first.length).toBeGreaterThanOrEqual(1);
        expect(first.length).toBeLessThanOrEqual(2);
        const rest = await receiveUntil(q, 5 - first.length, slack + V);
        const ids = new Set([...first, ...rest].map((d) => d.job.job_id));
        expect(ids.size).toBe(5);
        await Promise.all([...first, ...rest].map((d) => d.ack()));
      },
      timeout,
    );

    it(
      `${many} concurrent sends and 4 concurrent receivers: none lost, none duplicated`,
      async () => {
        const jobs = Array.from({ length: many }, (_, i) => sampleJob({ payload: { i } }));
        await Promise.all(jobs.map((j) => q.send(j)));
        const seen = new Map<string, number>();
        const deadline = Date.now() + 20_000 + many * 50;
        let total = 0;
        const consumer = async () => {
          while (total < many && Date.now() < deadline) {
            const got = await q.receive({ max: 10, waitMs: 500 });
            total += got.length;
            for (const d of got) seen.set(d.job.job_id, (seen.get(d.job.job_id) ?? 0) + 1);
            await Promise.all(got.map((d) => d.ack()));
          }
        };
        await Promise.all([consumer(), consumer(), consumer(), consumer()]);
        expect(seen.size).toBe(many);
        expect([...seen.values()].every((n) => n === 1)).toBe(true);
        expect(total).toBe(many);
        expect(await receiveUntil(q, 1, V * 2 + 200)).toEqual([]);
      },
      timeout + 20_000 + many * 50,
    );

    if (opts.sendRaw) {
      const sendRaw = opts.sendRaw;
      it(
        'delivers a "NanoGrid Plus" message normalised to the job shape',
        async () => {
          await sendRaw(
            q,
            JSON.stringify({
              requestId: 'req-plus-1',
              functionId: 'fn-plus',
              runtime: 'nodejs20.x',
              s3Bucket: 'b',
              s3Key: 'functions/fn-plus/code.zip',
              timeoutMs: 2500,
              memoryMb: 256,
            }),
          );
          const d = await one();
          expect(d.job).toEqual({
            job_id: 'req-plus-1',
            function_id: 'fn-plus',
            runtime: 'nodejs20.x',
            s3_key: 'functions/fn-plus/code.zip',
            timeout: 2.5,
            memory_mb: 256,
            payload: {},
          });
          await d.ack();
        },
        timeout,
      );

      it(
        'never delivers a message that is not a job, and dead-letters it with a reason',
        async () => {
          await sendRaw(q, 'not json {');
          await sendRaw(q, JSON.stringify({ function_id: 'fn-x', payload: {} }));
          const job = sampleJob();
          await q.send(job);
          const d = await one();
          expect(d.job.job_id).toBe(job.job_id);
          await d.ack();
          expect(await receiveUntil(q, 1, V * 2 + 500)).toEqual([]);
          if (opts.deadLetters) {
            await eventually(async () => {
              const bad = (await opts.deadLetters!(q)).filter((d) => d.job === undefined);
              expect(bad).toHaveLength(2);
              for (const d of bad) expect(d.reason).toMatch(/\S/);
            }, slack);
          }
        },
        timeout,
      );
    }
    if (opts.bounded) {
      const bounded = opts.bounded;
      queueBudgetCases(async () => {
        const made = await bounded(BUDGET_BYTES);
        const fx = isFixture(made) ? made : { queue: made };
        return {
          queue: fx.queue,
          done: async () => {
            await fx.queue.close();
            await fx.cleanup?.();
          },
        };
      }, timeout);
    }
  });
}

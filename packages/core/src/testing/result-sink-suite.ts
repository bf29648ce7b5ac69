import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobRecord } from '../job.js';
import type { ResultSink } from '../plugins/result-sink.js';
import { BUDGET_BYTES, resultsBudgetCases } from './budget-cases.js';
import { eventually, sampleRecord, sleep } from './helpers.js';
import { jobListCases } from './job-list-cases.js';
import { telemetryCases } from './telemetry-cases.js';

/** What the suite asks of the factory: a TTL in seconds when the TTL test runs. */
export interface ResultSinkFactoryOptions {
  ttlSec?: number;
}

export interface ResultSinkFixture<S extends ResultSink = ResultSink> {
  sink: S;
  cleanup?(): Promise<void>;
}

export type ResultSinkFactory<S extends ResultSink = ResultSink> = (
  opts: ResultSinkFactoryOptions,
) => Promise<S | ResultSinkFixture<S>>;

export interface ResultSinkSuiteOptions<S extends ResultSink = ResultSink> {
  /** TTL (seconds) asked of the factory for the expiry test, which waits that long in real time; false leaves it out. @default 1 */
  ttlSec?: number | false;
  /** Concurrent waiters in the race tests. @default 50 */
  waiters?: number;
  /** Tolerance for network round trips, ms. @default 2000 */
  slackMs?: number;
  /** The sink has `onFinal` (a store that makes every write in its process): adds its cases. @default false */
  onFinal?: boolean;
  /** A sink with a byte budget of `maxBytes` (`limits.maxStoredResultBytes`); adds the budget tests. */
  bounded?(maxBytes: number): Promise<S | ResultSinkFixture<S>>;
}

function isFixture<S extends ResultSink>(v: S | ResultSinkFixture<S>): v is ResultSinkFixture<S> {
  return 'sink' in v && typeof (v as ResultSinkFixture<S>).sink?.publish === 'function';
}

const final = (base: JobRecord, over: Partial<JobRecord> = {}): JobRecord => ({
  ...base,
  status: 'completed',
  result: { message: 'Hello, NanoGrid!', n: 42, list: [1, null, 'ü'] },
  output_files: ['http://localhost/files/outputs/x/a.png'],
  finished_at: new Date().toISOString(),
  execution_time_ms: 12,
  ...over,
});

/**
 * The behaviour every ResultSink must show, through the interface only:
 * records, final-once, `wait` that cannot miss a publish, timeouts, TTL.
 */
export function testResultSink<S extends ResultSink>(
  name: string,
  factory: ResultSinkFactory<S>,
  opts: ResultSinkSuiteOptions<S> = {},
): void {
  const slack = opts.slackMs ?? 2000;
  const n = opts.waiters ?? 50;
  const ttlSec = opts.ttlSec ?? 1;

  describe(`ResultSink conformance: ${name}`, () => {
    const open: ResultSinkFixture<S>[] = [];
    const make = async (o: ResultSinkFactoryOptions = {}) => {
      const made = await factory(o);
      const fx = isFixture(made) ? made : { sink: made };
      open.push(fx);
      return fx.sink;
    };
    let sink: S;
    beforeEach(async () => {
      sink = await make();
    });
    afterEach(async () => {
      for (const fx of open.splice(0)) {
        await fx.sink.close();
        await fx.cleanup?.();
      }
    });

    it('create then get returns the record; an unknown job is undefined', async () => {
      const rec = sampleRecord();
      await sink.create(rec);
      expect(await sink.get(rec.job_id)).toEqual(rec);
      expect(await sink.get(`${rec.job_id}-unknown`)).toBeUndefined();
    });

    it('update merges a patch into a running job and returns the new record', async () => {
      const rec = sampleRecord();
      await sink.create(rec);
      const started = new Date().toISOString();
      const next = await sink.update(rec.job_id, { status: 'running', started_at: started, attempts: 1, worker: 'w1' });
      expect(next).toMatchObject({
        job_id: rec.job_id,
        function_id: rec.function_id,
        created_at: rec.created_at,
        status: 'running',
        started_at: started,
        attempts: 1,
        worker: 'w1',
      });
      expect(await sink.get(rec.job_id)).toEqual(next);
      expect(await sink.update(`${rec.job_id}-unknown`, { status: 'running' })).toBeUndefined();
    });

    it('publish writes the final record once; later publishes and updates change nothing', async () => {
      const rec = sampleRecord();
      await sink.create(rec);
      const done = final(rec);
      expect(await sink.publish(done)).toBe(true);
      expect(await sink.get(rec.job_id)).toMatchObject(done);
      const failed = final(rec, {
        status: 'failed',
        result: undefined,
        error: { code: 'FUNCTION_ERROR', message: 'late' },
      });
      expect(await sink.publish(failed)).toBe(false);
      expect(await sink.update(rec.job_id, { status: 'running', logs: 'late' })).toBeUndefined();
      expect(await sink.get(rec.job_id)).toMatchObject(done);
    });

    it('keeps a failed record with its error', async () => {
      const rec = sampleRecord();
      await sink.create(rec);
      const failed = final(rec, {
        status: 'failed',
        result: undefined,
        output_files: [],
        error: { code: 'FUNCTION_ERROR', message: 'boom', type: 'ValueError', trace: 'Traceback …\nValueError: boom' },
      });
      delete failed.result;
      expect(await sink.publish(failed)).toBe(true);
      expect(await sink.get(rec.job_id)).toEqual(failed);
    });

    it('only one of many concurrent publishes wins', async () => {
      const rec = sampleRecord();
      await sink.create(rec);
      const attempts = Array.from({ length: 10 }, (_, i) => final(rec, { result: { winner: i } }));
      const won = await Promise.all(attempts.map((a) => sink.publish(a)));
      expect(won.filter(Boolean)).toHaveLength(1);
      const winner = won.indexOf(true);
      expect((await sink.get(rec.job_id))?.result).toEqual({ winner });
    });

    it('wait after publish resolves at once with the final record', async () => {
      const rec = sampleRecord();
      await sink.create(rec);
      await sink.publish(final(rec));
      const t0 = Date.now();
      expect(await sink.wait(rec.job_id, { timeoutMs: 10_000 })).toMatchObject({ status: 'completed' });
      expect(Date.now() - t0).toBeLessThan(slack);
    });

    it('wait before publish resolves when the result is published', async () => {
      const rec = sampleRecord();
      await sink.create(rec);
      const waiting = sink.wait(rec.job_id, { timeoutMs: 15_000 });
      await sleep(100);
      await sink.update(rec.job_id, { status: 'running' });
      await sleep(50);
      const t0 = Date.now();
      await sink.publish(final(rec));
      expect(await waiting).toMatchObject({ job_id: rec.job_id, status: 'completed', result: final(rec).result });
      expect(Date.now() - t0).toBeLessThan(slack);
    });

    it('wait gives up after timeoutMs with the latest record (undefined when unknown)', async () => {
      const rec = sampleRecord();
      await sink.create(rec);
      await sink.update(rec.job_id, { status: 'running' });
      const t0 = Date.now();
      expect(await sink.wait(rec.job_id, { timeoutMs: 300 })).toMatchObject({ status: 'running' });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      expect(Date.now() - t0).toBeLessThan(300 + slack);
      expect(await sink.wait(`${rec.job_id}-unknown`, { timeoutMs: 100 })).toBeUndefined();
    });

    it('abort ends a wait with the latest record', async () => {
      const rec = sampleRecord();
      await sink.create(rec);
      const ac = new AbortController();
      const waiting = sink.wait(rec.job_id, { signal: ac.signal, timeoutMs: 15_000 });
      await sleep(100);
      const t0 = Date.now();
      ac.abort();
      expect(await waiting).toMatchObject({ status: 'pending' });
      expect(Date.now() - t0).toBeLessThan(slack);
      expect(await sink.wait(rec.job_id, { signal: AbortSignal.abort() })).toMatchObject({ status: 'pending' });
    });

    it(`${n} waiters started around a publish all see the final record`, async () => {
      const rec = sampleRecord();
      await sink.create(rec);
      const waits: Promise<JobRecord | undefined>[] = [];
      let published: Promise<boolean> | undefined;
      for (let i = 0; i < n; i += 1) {
        waits.push(sink.wait(rec.job_id, { timeoutMs: 5000 + slack }));
        // Publish mid-way, without awaiting: later waiters subscribe while it is in flight.
        if (i === Math.floor(n / 2)) published = sink.publish(final(rec));
        if (i % 5 === 0) await new Promise((r) => setImmediate(r));
      }
      expect(await published).toBe(true);
      const got = await Promise.all(waits);
      expect(got.every((r) => r?.status === 'completed')).toBe(true);
    });

    it('waiters of one job are not woken by another job', async () => {
      const a = sampleRecord();
      const b = sampleRecord();
      await Promise.all([sink.create(a), sink.create(b)]);
      const waitB = sink.wait(b.job_id, { timeoutMs: 400 });
      await sink.publish(final(a));
      expect(await waitB).toMatchObject({ job_id: b.job_id, status: 'pending' });
    });

    if (opts.onFinal) {
      it('onFinal tells the final status once, as it is written; not a running update; nothing after stop()', async () => {
        const onFinal = sink.onFinal?.bind(sink);
        expect(onFinal, `${name} was said to have onFinal`).toBeTypeOf('function');
        if (!onFinal) return;
        const rec = sampleRecord();
        await sink.create(rec);
        const heard: string[] = [];
        const stopA = onFinal(rec.job_id, (status) => heard.push(`a:${status}`));
        const stopB = onFinal(rec.job_id, (status) => heard.push(`b:${status}`));
        const other = sampleRecord();
        await sink.create(other);
        const stopOther = onFinal(other.job_id, (status) => heard.push(`other:${status}`));
        await sink.update(rec.job_id, { status: 'running' });
        stopB();
        expect(heard).toEqual([]);
        await sink.publish(final(rec, { status: 'cancelled', error: { code: 'CANCELLED', message: 'x' } }));
        await sink.publish(final(rec)); // refused: the record is final already
        expect(heard).toEqual(['a:cancelled']);
        stopA(); // after the call: harmless
        stopOther();
        await sink.publish(final(other));
        expect(heard).toEqual(['a:cancelled']);
      });

      it('onFinal on a job that is final already tells it at once; an unknown job waits for its record', async () => {
        const rec = sampleRecord();
        await sink.create(rec);
        await sink.publish(final(rec, { status: 'failed', error: { code: 'FUNCTION_ERROR', message: 'x' } }));
        const heard: string[] = [];
        sink.onFinal?.(rec.job_id, (status) => heard.push(status));
        expect(heard).toEqual(['failed']);
        const later = sampleRecord();
        const stop = sink.onFinal?.(later.job_id, (status) => heard.push(status));
        await sink.publish(final(later));
        expect(heard).toEqual(['failed', 'completed']);
        stop?.();
      });
    }

    it('claim: one of many concurrent claims of a key takes it, the rest see its value', async () => {
      expect(typeof sink.claim).toBe('function');
      const key = `claim-${Math.random().toString(36).slice(2)}`;
      const answers = await Promise.all(Array.from({ length: n }, (_, i) => sink.claim!(key, `v${i}`, 60_000)));
      const taken = answers.filter((a) => a === undefined);
      expect(taken).toHaveLength(1);
      const winner = `v${answers.indexOf(undefined)}`;
      expect(answers.filter((a) => a !== undefined).every((a) => a === winner)).toBe(true);
      expect(await sink.claim!(key, 'later', 60_000)).toBe(winner);
      expect(await sink.claim!(`${key}-other`, 'x', 60_000)).toBeUndefined();
    });

    it('claim: a key is free again once its TTL has passed', async () => {
      const key = `claim-ttl-${Math.random().toString(36).slice(2)}`;
      expect(await sink.claim!(key, 'first', 300)).toBeUndefined();
      expect(await sink.claim!(key, 'second', 300)).toBe('first');
      await sleep(400);
      await eventually(async () => expect(await sink.claim!(key, 'third', 60_000)).not.toBe('first'), slack, 100);
    });

    jobListCases(() => sink);
    telemetryCases(() => sink, slack);

    if (ttlSec !== false) {
      it(
        `forgets a job ${ttlSec}s after its last write`,
        async () => {
          const short = await make({ ttlSec });
          const rec = sampleRecord();
          await short.create(rec);
          expect(await short.get(rec.job_id)).toBeDefined();
          await sleep(ttlSec * 1000);
          await eventually(async () => expect(await short.get(rec.job_id)).toBeUndefined(), slack, 100);
        },
        30_000 + ttlSec * 1000,
      );
    }
    if (opts.bounded) {
      const bounded = opts.bounded;
      resultsBudgetCases(async () => {
        const made = await bounded(BUDGET_BYTES);
        const fx = isFixture(made) ? made : { sink: made };
        return {
          sink: fx.sink,
          done: async () => {
            await fx.sink.close();
            await fx.cleanup?.();
          },
        };
      }, 30_000);
    }
  });
}

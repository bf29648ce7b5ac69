import { expect, it } from 'vitest';
import { isNanoGridError } from '../errors.js';
import type { JobRecord } from '../job.js';
import type { QueueSource } from '../plugins/queue-source.js';
import type { ResultSink } from '../plugins/result-sink.js';
import { receiveUntil, sampleJob, uniqueId } from './helpers.js';

/** Budget of the bounded stores under test: a few of the 64 KiB items below. */
export const BUDGET_BYTES = 1024 * 1024;
const ITEM = 64 * 1024;

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    if (isNanoGridError(err)) return err.code;
    throw err;
  }
}

/**
 * The byte-budget cases of an embedded queue (`limits.maxQueuedBytes`):
 * past the budget `send` throws QUEUE_FULL, nothing accepted is lost, and
 * acknowledged messages give their bytes back. `bounded` makes a queue with
 * a budget of BUDGET_BYTES.
 */
export function queueBudgetCases(
  bounded: () => Promise<{ queue: QueueSource; done(): Promise<void> }>,
  timeout: number,
): void {
  it(
    'byte budget: refuses with QUEUE_FULL once full, loses nothing accepted, takes again after acks',
    async () => {
      const { queue, done } = await bounded();
      try {
        const accepted: string[] = [];
        let refused: string | undefined;
        for (let i = 0; i < 64 && refused === undefined; i++) {
          const job = sampleJob({ payload: { blob: 'q'.repeat(ITEM), i } });
          refused = await codeOf(queue.send(job));
          if (refused === undefined) accepted.push(job.job_id);
        }
        expect(refused).toBe('QUEUE_FULL');
        expect(accepted.length).toBeGreaterThan(4);
        expect(accepted.length).toBeLessThan(BUDGET_BYTES / ITEM + 1);
        const got = await receiveUntil(queue, accepted.length, 5000);
        expect(got.map((d) => d.job.job_id).sort()).toEqual([...accepted].sort());
        // Delivered but not acknowledged still counts: a crash would deliver them again.
        expect(await codeOf(queue.send(sampleJob({ payload: { blob: 'q'.repeat(ITEM) } })))).toBe('QUEUE_FULL');
        for (const d of got) await d.ack();
        expect(await codeOf(queue.send(sampleJob({ payload: { blob: 'q'.repeat(ITEM) } })))).toBeUndefined();
      } finally {
        await done();
      }
    },
    timeout,
  );
}

const record = (jobId: string, extra: Partial<JobRecord> = {}): JobRecord => {
  const now = new Date().toISOString();
  return {
    job_id: jobId,
    function_id: 'fn-budget',
    status: 'pending',
    created_at: now,
    updated_at: now,
    output_files: [],
    ...extra,
  };
};

/**
 * The byte-budget cases of an embedded result store (`limits.maxStoredResultBytes`):
 * past the budget `create` throws RESULTS_FULL, while the later states of jobs
 * already created are always written. `bounded` makes a sink with a budget of BUDGET_BYTES.
 */
export function resultsBudgetCases(
  bounded: () => Promise<{ sink: ResultSink; done(): Promise<void> }>,
  timeout: number,
): void {
  it(
    'byte budget: refuses new jobs with RESULTS_FULL once full, never the results of jobs it took',
    async () => {
      const { sink, done } = await bounded();
      try {
        const created: string[] = [];
        let refused: string | undefined;
        for (let i = 0; i < 64 && refused === undefined; i++) {
          const id = uniqueId('budget');
          refused = await codeOf(sink.create(record(id, { logs: 'r'.repeat(ITEM) })));
          if (refused === undefined) created.push(id);
        }
        expect(refused).toBe('RESULTS_FULL');
        expect(created.length).toBeGreaterThan(4);
        for (const id of created) {
          expect(await sink.update(id, { status: 'running', logs: 'r'.repeat(ITEM * 2) })).toBeDefined();
          const final = record(id, { status: 'completed', result: { id }, logs: 'r'.repeat(ITEM * 2) });
          expect(await sink.publish(final)).toBe(true);
        }
        for (const id of created) expect(await sink.get(id)).toMatchObject({ status: 'completed', result: { id } });
      } finally {
        await done();
      }
    },
    timeout,
  );
}

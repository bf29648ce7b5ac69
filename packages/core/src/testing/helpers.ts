import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobMessage, JobRecord } from '../job.js';
import type { Delivery, QueueSource } from '../plugins/queue-source.js';

export { sleep };

/** A unique, id-safe suffix so suites never collide on a shared server. */
export function uniqueId(prefix = 't'): string {
  return `${prefix}-${randomUUID().replace(/-/g, '').slice(0, 16)}`;
}

export function sampleJob(overrides: Partial<JobMessage> = {}): JobMessage {
  const job_id = overrides.job_id ?? uniqueId('job');
  return {
    job_id,
    function_id: 'fn-conformance',
    payload: { name: 'NanoGrid', n: 1, nested: { list: [1, 'two', null], unicode: 'héllo ✓' } },
    s3_key: 'functions/fn-conformance/code.zip',
    runtime: 'python3.12',
    handler: 'main.handler',
    timeout: 30,
    ...overrides,
  };
}

export function sampleRecord(overrides: Partial<JobRecord> = {}): JobRecord {
  const now = new Date().toISOString();
  return {
    job_id: overrides.job_id ?? uniqueId('job'),
    function_id: 'fn-conformance',
    status: 'pending',
    created_at: now,
    updated_at: now,
    output_files: [],
    ...overrides,
  };
}

/** A record with fixed fields (function `fn`, dates of 2024-01-01) for unit tests that compare or order records. */
export function fixedRecord(id: string, overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    job_id: id,
    function_id: 'fn',
    status: 'pending',
    created_at: '2024-01-01T00:00:00.000Z',
    updated_at: '2024-01-01T00:00:00.000Z',
    output_files: [],
    ...overrides,
  };
}

/** Receives (long-polling in slices) until `count` deliveries arrived or `timeoutMs` passed. */
export async function receiveUntil(
  queue: QueueSource,
  count: number,
  timeoutMs: number,
  sliceMs = 1000,
): Promise<Delivery[]> {
  const out: Delivery[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    out.push(...(await queue.receive({ max: Math.min(10, count - out.length), waitMs: Math.min(sliceMs, left) })));
  }
  return out;
}

/** Retries `check` until it stops throwing or `timeoutMs` passes (for eventually-consistent counters). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs: number, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await sleep(everyMs);
    }
  }
}

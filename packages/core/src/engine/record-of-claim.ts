import { setTimeout as delay } from 'node:timers/promises';
import type { JobRecord } from '../job.js';
import type { ResultSink } from '../plugins/result-sink.js';

/**
 * The record of the job an idempotency key names. Concurrent requests with one key
 * find the key claimed before its first request has written the record; resubmitting
 * then would queue the job once per request. Until `settleBy` (epoch ms) passes, the
 * record is read again with a growing pause (10 ms to 250 ms); undefined after that.
 */
export async function recordOfClaim(
  results: Pick<ResultSink, 'get'>,
  jobId: string,
  settleBy: number,
): Promise<JobRecord | undefined> {
  let record = await results.get(jobId);
  for (let pause = 10; !record && Date.now() < settleBy; pause = Math.min(pause * 2, 250)) {
    await delay(Math.min(pause, Math.max(1, settleBy - Date.now())));
    record = await results.get(jobId);
  }
  return record;
}

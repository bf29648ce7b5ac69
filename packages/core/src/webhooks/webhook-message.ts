import { createHmac, timingSafeEqual } from 'node:crypto';
import type { CallbackFormat, JobRecord } from '../job.js';

export type { CallbackFormat };

export const SIGNATURE_HEADER = 'X-NanoGrid-Signature';
export const DELIVERY_HEADER = 'X-NanoGrid-Delivery';

/** `sha256=<hex HMAC-SHA256 of the body>` under the host's webhook secret. */
export function signBody(body: string | Uint8Array, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Receiver side of `signBody`, in constant time: what a user's endpoint does (and the tests). */
export function verifySignature(body: string | Uint8Array, secret: string, header: string | null | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(body, secret));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A Slack incoming-webhook message for a final job: a text fallback plus blocks. */
export function slackMessage(record: JobRecord, functionName?: string): Record<string, unknown> {
  const fn = functionName ?? record.function_id;
  const ok = record.status === 'completed';
  const icon = ok ? ':white_check_mark:' : record.status === 'failed' ? ':x:' : ':information_source:';
  const duration = record.execution_time_ms !== undefined ? `${record.execution_time_ms} ms` : 'n/a';
  const text = `${icon} ${fn}: job ${record.job_id} ${record.status} (${duration})`;
  const fields = [
    { type: 'mrkdwn', text: `*Function*\n${clip(fn, 200)}` },
    { type: 'mrkdwn', text: `*Status*\n${record.status}` },
    { type: 'mrkdwn', text: `*Duration*\n${duration}` },
    { type: 'mrkdwn', text: `*Job*\n\`${record.job_id}\`` },
  ];
  const blocks: Record<string, unknown>[] = [
    { type: 'section', text: { type: 'mrkdwn', text: clip(text, 3000) } },
    { type: 'section', fields },
  ];
  if (record.error) {
    const error = `${record.error.code}${record.error.type ? ` (${record.error.type})` : ''}: ${record.error.message}`;
    // Slack caps a text object at 3,000 characters.
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Error*\n\`\`\`${clip(error, 2900)}\`\`\`` } });
  }
  return { text, blocks };
}

/** The body posted for a final job in the given format. */
export function callbackBody(record: JobRecord, format: CallbackFormat, functionName?: string): string {
  if (format === 'slack') return JSON.stringify(slackMessage(record, functionName));
  // The callback's record is what it was before payloads were kept: the caller sent the payload.
  const { payload: _payload, payload_bytes: _bytes, ...rest } = record;
  return JSON.stringify(rest);
}

import { NanoGridError } from './errors.js';
import type { JobMessage } from './job.js';

/**
 * Ids that may travel in a queue message. They become storage keys
 * (`outputs/{job_id}/…`) and URL segments, so no `/`, `.` or spaces.
 */
export const JOB_MESSAGE_ID_RE = /^[\w-]{1,128}$/;

function bad(message: string, details?: Record<string, unknown>): NanoGridError {
  return new NanoGridError('BAD_MESSAGE', message, details ? { details } : {});
}

function decode(body: unknown): Record<string, unknown> {
  let value = body;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) value = Buffer.from(value).toString('utf8');
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (err) {
      throw bad(`job message is not JSON: ${(err as Error).message}`);
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    throw bad(`job message must be a JSON object, got ${kind}`);
  }
  return value as Record<string, unknown>;
}

function id(obj: Record<string, unknown>, field: string): string {
  const v = obj[field];
  if (v === undefined || v === null || v === '') throw bad(`job message misses "${field}"`, { field });
  if (typeof v !== 'string') throw bad(`job message field "${field}" must be a string, got ${typeof v}`, { field });
  if (!JOB_MESSAGE_ID_RE.test(v)) {
    throw bad(`job message field "${field}" must be 1-128 letters, digits, "_" or "-"`, { field });
  }
  return v;
}

function optString(obj: Record<string, unknown>, field: string): string | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(`job message field "${field}" must be a string, got ${typeof v}`, { field });
  return v;
}

/** A positive finite number; numeric strings are accepted because form fields travel as text. */
function optPositive(obj: Record<string, unknown>, field: string): number | undefined {
  const v = obj[field];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) {
    throw bad(`job message field "${field}" must be a positive number, got ${JSON.stringify(v)}`, { field });
  }
  return n;
}

function optVersion(obj: Record<string, unknown>, field: string): number | undefined {
  const n = optPositive(obj, field);
  if (n !== undefined && !Number.isInteger(n))
    throw bad(`job message field "${field}" must be a whole number, got ${n}`, { field });
  return n;
}

/** Copies the defined entries only, so a parsed message equals what was sent. */
function compact(job: JobMessage): JobMessage {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(job)) if (v !== undefined) out[k] = v;
  return out as unknown as JobMessage;
}

/** The "NanoGrid Plus" producer: requestId/functionId/s3Bucket/s3Key/timeoutMs/memoryMb. */
function fromPlus(obj: Record<string, unknown>): JobMessage {
  const timeoutMs = optPositive(obj, 'timeoutMs');
  optString(obj, 's3Bucket'); // validated, not kept: the worker reads code through its own storage
  return compact({
    job_id: id(obj, 'requestId'),
    function_id: id(obj, 'functionId'),
    function_version: optVersion(obj, 'functionVersion'),
    payload: obj.payload === undefined ? {} : obj.payload,
    s3_key: optString(obj, 's3Key'),
    runtime: optString(obj, 'runtime'),
    handler: optString(obj, 'handler'),
    timeout: timeoutMs === undefined ? undefined : timeoutMs / 1000,
    memory_mb: optPositive(obj, 'memoryMb'),
    submitted_at: optString(obj, 'submittedAt') ?? optString(obj, 'submitted_at'),
  });
}

function fromOriginal(obj: Record<string, unknown>): JobMessage {
  return compact({
    job_id: id(obj, 'job_id'),
    function_id: id(obj, 'function_id'),
    function_version: optVersion(obj, 'function_version'),
    payload: obj.payload === undefined ? {} : obj.payload,
    s3_key: optString(obj, 's3_key'),
    runtime: optString(obj, 'runtime'),
    handler: optString(obj, 'handler'),
    timeout: optPositive(obj, 'timeout'),
    memory_mb: optPositive(obj, 'memory_mb'),
    submitted_at: optString(obj, 'submitted_at'),
    // Checked again (SSRF policy) at every delivery attempt, whoever queued the message.
    callback_url: optString(obj, 'callback_url'),
    callback_format: optFormat(obj),
  });
}

function optFormat(obj: Record<string, unknown>): JobMessage['callback_format'] {
  const v = obj.callback_format;
  if (v === undefined || v === 'json' || v === 'slack') return v;
  throw bad('job message field "callback_format" must be "json" or "slack"', { field: 'callback_format' });
}

/**
 * Validates a queue message and normalises it to the original shape
 * `{job_id, function_id, s3_key, runtime, handler, payload, timeout}`.
 * Accepts a JSON string (or bytes) or an already-parsed object, in either the
 * original shape or the "NanoGrid Plus" one (`requestId`, `functionId`,
 * `s3Key`, `timeoutMs`, `memoryMb`). Throws NanoGridError `BAD_MESSAGE`
 * naming the offending field.
 */
export function parseJobMessage(body: unknown): JobMessage {
  const obj = decode(body);
  const plus = obj.job_id === undefined && (obj.requestId !== undefined || obj.functionId !== undefined);
  return plus ? fromPlus(obj) : fromOriginal(obj);
}

/** The JSON a queue carries for `job` (original shape, validated first). */
export function serializeJobMessage(job: JobMessage): string {
  return JSON.stringify(parseJobMessage(job));
}

import { NanoGridError } from '@nanogrid/core';
import { invalidField } from './error-response.js';

export interface RunRequest {
  /** A function reference: name or id, optionally `:version` / `:alias`. */
  ref: string;
  /** The body field it came in (`function`, or the original `function_id`): errors name it. */
  field: 'function' | 'function_id';
  payload: unknown;
  /** Completion webhook asked for in the body (its URL is checked by the job service). */
  callback?: { url?: unknown; format?: unknown };
}

/**
 * Reads the body of `POST /run`: JSON `{"function", "payload", "callback_url"?, "callback_format"?}` (or the
 * original `{"function_id", "payload"}`); a missing payload is `{}`.
 */
export function readRun(raw: string): RunRequest {
  if (raw.trim() === '')
    throw new NanoGridError('BAD_JSON', 'POST /run needs a JSON body: {"function_id": "...", "payload": {...}}');
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch (err) {
    throw new NanoGridError('BAD_JSON', `the body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new NanoGridError('BAD_JSON', 'the body must be a JSON object: {"function_id": "...", "payload": {...}}');
  }
  const {
    function: fn,
    function_id: functionId,
    payload,
    callback_url: callbackUrl,
    callback_format: callbackFormat,
  } = body as Record<string, unknown>;
  const given = (v: unknown) => v !== undefined && v !== null && v !== '';
  if (given(fn) && given(functionId)) throw invalidField('function', 'give "function" or "function_id", not both');
  const field = given(fn) ? 'function' : 'function_id';
  const ref = given(fn) ? fn : functionId;
  if (!given(ref))
    throw invalidField('function', '"function" is required: a name or id, optionally with ":<version>" or ":<alias>"');
  if (typeof ref !== 'string') throw invalidField(field, `"${field}" must be a string`);
  if (callbackUrl !== undefined && typeof callbackUrl !== 'string')
    throw invalidField('callback_url', '"callback_url" must be a string: an http(s) URL');
  if (callbackFormat !== undefined && callbackFormat !== 'json' && callbackFormat !== 'slack')
    throw invalidField('callback_format', '"callback_format" must be "json" or "slack"');
  const callback =
    callbackUrl !== undefined || callbackFormat !== undefined
      ? { url: callbackUrl, format: callbackFormat }
      : undefined;
  return { ref, field, payload: payload ?? {}, ...(callback ? { callback } : {}) };
}

/** `X-Async: true` (or `1`/`yes`) asks for 202 + a job id instead of waiting: the header's value. */
export function wantsAsync(header: string | undefined): boolean {
  const v = header?.trim().toLowerCase();
  return v === 'true' || v === '1' || v === 'yes';
}

import { NanoGridError } from '@nanogrid/core';
import type { Context } from 'hono';
import { invalidField } from './error-response.js';
import { readBodyText } from './read-body.js';

export interface RunRequest {
  /** A function reference: name or id, optionally `:version` / `:alias`. */
  ref: string;
  /** The body field it came in (`function`, or the original `function_id`): errors name it. */
  field: 'function' | 'function_id';
  payload: unknown;
}

/**
 * Reads `POST /run`: JSON `{"function", "payload"}` (or the original
 * `{"function_id", "payload"}`) of at most `limit` bytes; a missing payload is `{}`.
 */
export async function readRun(c: Context, limit: number): Promise<RunRequest> {
  const raw = await readBodyText(c, limit);
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
  const { function: fn, function_id: functionId, payload } = body as Record<string, unknown>;
  const given = (v: unknown) => v !== undefined && v !== null && v !== '';
  if (given(fn) && given(functionId)) throw invalidField('function', 'give "function" or "function_id", not both');
  const field = given(fn) ? 'function' : 'function_id';
  const ref = given(fn) ? fn : functionId;
  if (!given(ref))
    throw invalidField('function', '"function" is required: a name or id, optionally with ":<version>" or ":<alias>"');
  if (typeof ref !== 'string') throw invalidField(field, `"${field}" must be a string`);
  return { ref, field, payload: payload ?? {} };
}

/** `X-Async: true` (or `1`/`yes`) asks for 202 + a job id instead of waiting. */
export function wantsAsync(c: Context): boolean {
  const v = c.req.header('x-async')?.trim().toLowerCase();
  return v === 'true' || v === '1' || v === 'yes';
}

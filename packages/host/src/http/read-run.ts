import { NanoGridError } from '@nanogrid/core';
import type { Context } from 'hono';
import { invalidField } from './error-response.js';
import { readBodyText } from './read-body.js';

export interface RunRequest {
  functionId: string;
  payload: unknown;
}

/** Reads `POST /run`: JSON `{"function_id", "payload"}` of at most `limit` bytes; a missing payload is `{}`. */
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
  const { function_id: functionId, payload } = body as Record<string, unknown>;
  if (functionId === undefined || functionId === null || functionId === '')
    throw invalidField('function_id', '"function_id" is required');
  if (typeof functionId !== 'string') throw invalidField('function_id', '"function_id" must be a string');
  return { functionId, payload: payload ?? {} };
}

/** `X-Async: true` (or `1`/`yes`) asks for 202 + a job id instead of waiting. */
export function wantsAsync(c: Context): boolean {
  const v = c.req.header('x-async')?.trim().toLowerCase();
  return v === 'true' || v === '1' || v === 'yes';
}

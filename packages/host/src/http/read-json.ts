import { NanoGridError } from '@nanogrid/core';
import type { Context } from 'hono';
import { readBodyText } from './read-body.js';

/** A small JSON object body (alias updates and the like): BAD_JSON when it is not one. */
export async function readJsonObject(c: Context, limit = 64 * 1024): Promise<Record<string, unknown>> {
  const raw = await readBodyText(c, limit);
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch (err) {
    throw new NanoGridError('BAD_JSON', `the body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new NanoGridError('BAD_JSON', 'the body must be a JSON object');
  return body as Record<string, unknown>;
}

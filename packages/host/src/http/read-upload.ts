import type { DeployRequest, NetworkPolicy } from '@nanogrid/core';
import { NanoGridError } from '@nanogrid/core';
import type { Context } from 'hono';
import { invalidField } from './error-response.js';

type Fields = Record<string, string | File | (string | File)[]>;

function text(fields: Fields, name: string): string | undefined {
  const v = fields[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalidField(name, `"${name}" must be a single text field`);
  const t = v.trim();
  return t === '' ? undefined : t;
}

function required(fields: Fields, name: string): string {
  const v = text(fields, name);
  if (v === undefined) throw invalidField(name, `"${name}" is required`);
  return v;
}

function number(fields: Fields, name: string, integer: boolean): number | undefined {
  const v = text(fields, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw invalidField(name, `"${name}" must be a positive ${integer ? 'integer' : 'number'}, got "${v}"`);
  }
  return n;
}

function env(fields: Fields): Record<string, string> | undefined {
  const raw = text(fields, 'env');
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalidField('env', '"env" must be a JSON object of strings, e.g. {"MODE":"fast"}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalidField('env', '"env" must be a JSON object of strings');
  }
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== 'string') throw invalidField('env', `env value of "${k}" must be a string`);
  }
  return parsed as Record<string, string>;
}

/**
 * Reads `POST /upload`: the original's multipart fields (`file`, `function_name`,
 * `runtime`, `handler`, `timeout`) plus `memory_mb`, `max_concurrency`, `network` and `env` (JSON).
 * Shapes are checked here; limits and runtime ids are the registry's to check.
 */
export async function readUpload(c: Context): Promise<DeployRequest> {
  const type = c.req.header('content-type') ?? '';
  if (!/^multipart\/form-data/i.test(type)) {
    throw new NanoGridError('BAD_REQUEST', 'POST /upload takes multipart/form-data with a "file" field', {
      details: { field: 'content-type' },
    });
  }
  let fields: Fields;
  try {
    fields = (await c.req.parseBody({ all: true })) as Fields;
  } catch (err) {
    if (err instanceof NanoGridError) throw err;
    throw new NanoGridError('BAD_REQUEST', `the multipart body could not be read: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const file = fields['file'];
  if (file === undefined) throw invalidField('file', '"file" is required: a source file of the runtime or a .zip');
  if (!(file instanceof File)) throw invalidField('file', '"file" must be one uploaded file');
  const functionName = required(fields, 'function_name');
  const runtime = required(fields, 'runtime');
  const handler = text(fields, 'handler');
  const timeoutSec = number(fields, 'timeout', false);
  const memoryMb = number(fields, 'memory_mb', true);
  const maxConcurrency = number(fields, 'max_concurrency', true);
  const network = text(fields, 'network') as NetworkPolicy | undefined;
  const envVars = env(fields);
  return {
    functionName,
    runtime,
    fileName: file.name || 'upload',
    data: Buffer.from(await file.arrayBuffer()),
    ...(handler !== undefined ? { handler } : {}),
    ...(timeoutSec !== undefined ? { timeoutSec } : {}),
    ...(memoryMb !== undefined ? { memoryMb } : {}),
    ...(maxConcurrency !== undefined ? { maxConcurrency } : {}),
    ...(network !== undefined ? { network } : {}),
    ...(envVars !== undefined ? { env: envVars } : {}),
  };
}

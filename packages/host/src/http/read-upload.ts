import type { DeployRequest, NetworkPolicy } from '@nanogrid/core';
import { NanoGridError } from '@nanogrid/core';
import type { Context } from 'hono';
import { invalidField } from './error-response.js';
import { type ReceivedMultipart, receiveMultipart } from './receive-multipart.js';

/** Text fields as received: a field sent more than once has several values. */
type Fields = Map<string, string[]>;

function text(fields: Fields, name: string): string | undefined {
  const v = fields.get(name);
  if (v === undefined) return undefined;
  if (v.length !== 1) throw invalidField(name, `"${name}" must be a single text field`);
  const t = (v[0] ?? '').trim();
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

function flag(fields: Fields, name: string): boolean | undefined {
  const v = text(fields, name);
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') throw invalidField(name, `"${name}" must be true or false, got "${v}"`);
  return v === 'true';
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

const TEXT_FIELDS = [
  'function_name',
  'runtime',
  'handler',
  'timeout',
  'memory_mb',
  'disk_mb',
  'max_concurrency',
  'network',
  'env',
  'public',
  'http_event',
  'callback_url',
  'callback_format',
];

export interface ReadUploadOptions {
  /** Most bytes of the whole body, counted as they arrive. */
  maxBytes: number;
  /** Where the uploaded file is streamed to. */
  dir: string;
}

/** A deploy request whose code is a temp file; `cleanup()` removes it (call it once the deploy is done). */
export interface ReceivedUpload {
  request: DeployRequest;
  cleanup(): Promise<void>;
}

/**
 * Reads `POST /upload`: the original's multipart fields (`file`, `function_name`,
 * `runtime`, `handler`, `timeout`) plus `memory_mb`, `disk_mb`, `max_concurrency`, `network` and `env` (JSON).
 * The file is streamed to disk, never held in memory. Shapes are checked here;
 * limits and runtime ids are the registry's to check.
 */
export async function readUpload(c: Context, opts: ReadUploadOptions): Promise<ReceivedUpload> {
  const type = c.req.header('content-type') ?? '';
  if (!/^multipart\/form-data/i.test(type)) {
    throw new NanoGridError('BAD_REQUEST', 'POST /upload takes multipart/form-data with a "file" field', {
      details: { field: 'content-type' },
    });
  }
  const body = await receiveMultipart(c, { maxBytes: opts.maxBytes, dir: opts.dir, fileField: 'file' });
  try {
    return { request: toDeployRequest(body), cleanup: body.cleanup };
  } catch (err) {
    await body.cleanup();
    throw err;
  }
}

function toDeployRequest({ fields, fileFields, file }: ReceivedMultipart): DeployRequest {
  if (fileFields.filter((f) => f === 'file').length > 1 || (file && fields.has('file'))) {
    throw invalidField('file', '"file" must be one uploaded file');
  }
  if (!file) {
    if (fields.has('file')) throw invalidField('file', '"file" must be one uploaded file');
    throw invalidField('file', '"file" is required: a source file of the runtime or a .zip');
  }
  const misplaced = fileFields.find((f) => TEXT_FIELDS.includes(f));
  if (misplaced) throw invalidField(misplaced, `"${misplaced}" must be a single text field`);
  const functionName = required(fields, 'function_name');
  const runtime = required(fields, 'runtime');
  const handler = text(fields, 'handler');
  const timeoutSec = number(fields, 'timeout', false);
  const memoryMb = number(fields, 'memory_mb', true);
  const diskMb = number(fields, 'disk_mb', true);
  const maxConcurrency = number(fields, 'max_concurrency', true);
  const network = text(fields, 'network') as NetworkPolicy | undefined;
  const envVars = env(fields);
  const isPublic = flag(fields, 'public');
  const httpEvent = text(fields, 'http_event') as '1.0' | '2.0' | undefined;
  const callbackUrl = text(fields, 'callback_url');
  const callbackFormat = text(fields, 'callback_format') as 'json' | 'slack' | undefined;
  return {
    functionName,
    runtime,
    fileName: file.name || 'upload',
    data: { path: file.path, size: file.size },
    ...(handler !== undefined ? { handler } : {}),
    ...(timeoutSec !== undefined ? { timeoutSec } : {}),
    ...(memoryMb !== undefined ? { memoryMb } : {}),
    ...(diskMb !== undefined ? { diskMb } : {}),
    ...(maxConcurrency !== undefined ? { maxConcurrency } : {}),
    ...(network !== undefined ? { network } : {}),
    ...(envVars !== undefined ? { env: envVars } : {}),
    ...(isPublic !== undefined ? { public: isPublic } : {}),
    ...(httpEvent !== undefined ? { httpEvent } : {}),
    ...(callbackUrl !== undefined ? { callbackUrl } : {}),
    ...(callbackFormat !== undefined ? { callbackFormat } : {}),
  };
}

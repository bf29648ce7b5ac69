import type { CallbackFormat, NetworkPolicy } from './api-types.js';

/** What `POST /upload` takes. */
export interface DeployInput {
  /** Function name; deploying an existing name makes a new version. */
  name: string;
  /** Runtime id: `python3.11`, `nodejs20.x`, `cpp`, `go` … */
  runtime: string;
  /** The code: one source file of the runtime or a .zip. */
  code: Blob | Uint8Array | ArrayBuffer | string;
  /** File name of the code; its extension tells a source file from a zip (`main.py`, `code.zip`). */
  fileName: string;
  /** `module.function`. @default the runtime's default handler */
  handler?: string;
  /** Seconds. @default the host's default timeout */
  timeout?: number;
  /** @default the host's default memory */
  memoryMb?: number;
  /** Space of /tmp and /output together, MiB (`disk_mb`). @default the host's limits.defaultDiskMb */
  diskMb?: number;
  /** Jobs of the function at once per worker. */
  maxConcurrency?: number;
  network?: NetworkPolicy;
  env?: Record<string, string>;
  /** `/fn/{name}/…` needs no API key. @default false */
  public?: boolean;
  /** API Gateway payload format of `/fn/{name}/…` events. @default '1.0' */
  httpEvent?: '1.0' | '2.0';
  /** Default completion webhook of its jobs (the host must allow its address). */
  callbackUrl?: string;
  /** @default 'json' */
  callbackFormat?: CallbackFormat;
}

function blobOf(code: DeployInput['code']): Blob {
  if (code instanceof Blob) return code;
  if (typeof code === 'string') return new Blob([code]);
  // Copy into a fresh ArrayBuffer-backed view (the bytes may be a slice of a larger shared pool).
  const bytes = code instanceof Uint8Array ? code : new Uint8Array(code);
  return new Blob([bytes.slice()]);
}

/** The multipart form of an upload (the original's field names). */
export function deployForm(input: DeployInput): FormData {
  const form = new FormData();
  form.append('file', blobOf(input.code), input.fileName);
  form.append('function_name', input.name);
  form.append('runtime', input.runtime);
  if (input.handler !== undefined) form.append('handler', input.handler);
  if (input.timeout !== undefined) form.append('timeout', String(input.timeout));
  if (input.memoryMb !== undefined) form.append('memory_mb', String(input.memoryMb));
  if (input.diskMb !== undefined) form.append('disk_mb', String(input.diskMb));
  if (input.maxConcurrency !== undefined) form.append('max_concurrency', String(input.maxConcurrency));
  if (input.network !== undefined) form.append('network', input.network);
  if (input.env !== undefined) form.append('env', JSON.stringify(input.env));
  if (input.public !== undefined) form.append('public', String(input.public));
  if (input.httpEvent !== undefined) form.append('http_event', input.httpEvent);
  if (input.callbackUrl !== undefined) form.append('callback_url', input.callbackUrl);
  if (input.callbackFormat !== undefined) form.append('callback_format', input.callbackFormat);
  return form;
}

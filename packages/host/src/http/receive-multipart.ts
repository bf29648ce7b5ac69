import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Busboy, type BusboyFileStream, type BusboyInstance } from '@fastify/busboy';
import { NanoGridError } from '@nanogrid/core';
import type { Context } from 'hono';

export interface MultipartLimits {
  /** Most bytes of the whole body, counted as they arrive. */
  maxBytes: number;
  /** Directory the received file goes to (in a temp directory of its own). */
  dir: string;
  /** The one field that carries a file. */
  fileField: string;
  /** Most text fields. @default 32 */
  maxFields?: number;
  /** Most bytes of one text field. @default 64 KiB */
  maxFieldBytes?: number;
}

/** The received file, on disk. */
export interface ReceivedFile {
  path: string;
  /** Name the client gave it. */
  name: string;
  size: number;
}

export interface ReceivedMultipart {
  /** Text fields; a field sent more than once has several values. */
  fields: Map<string, string[]>;
  /** Every file part's field name, in order. */
  fileFields: string[];
  file: ReceivedFile | undefined;
  /** Removes the received file. Idempotent. */
  cleanup(): Promise<void>;
}

const badRequest = (message: string, cause?: unknown): NanoGridError =>
  new NanoGridError('BAD_REQUEST', message, cause === undefined ? {} : { cause });

/**
 * Removes what uploads of a process that died mid-request left in `dir`
 * (`upload-*` directories older than `olderThanMs`); returns how many. A live
 * upload is never that old: the whole request must arrive within `requestTimeoutMs`.
 */
export async function removeStaleUploads(dir: string, olderThanMs: number, now = Date.now()): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names.filter((n) => n.startsWith('upload-'))) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (!info || now - info.mtimeMs < olderThanMs) continue;
    await rm(path, { recursive: true, force: true });
    removed++;
  }
  return removed;
}

/** The body as a Node stream: the IncomingMessage under Node's server, the web body elsewhere (tests). */
function bodyStream(c: Context): Readable {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming && typeof incoming.on === 'function' && !incoming.readableDidRead) return incoming;
  const body = c.req.raw.body;
  return body ? Readable.fromWeb(body as unknown as WebReadableStream) : Readable.from([]);
}

/**
 * Reads a multipart body with busboy, streaming its file part to a temp file.
 * The size limit is counted on the bytes as they arrive (the declared length
 * is checked first), so a body past it is refused without being held in
 * memory or on disk. Every failure (limit, malformed body, client gone)
 * removes the temp file before it is reported; on success the caller owns it
 * and calls `cleanup()`.
 */
export async function receiveMultipart(c: Context, limits: MultipartLimits): Promise<ReceivedMultipart> {
  const type = c.req.header('content-type') ?? '';
  const declared = Number(c.req.header('content-length'));
  const tooLarge = () =>
    new NanoGridError('PAYLOAD_TOO_LARGE', `the request body is over the limit of ${limits.maxBytes} bytes`, {
      details: { limit: limits.maxBytes },
    });
  if (Number.isFinite(declared) && declared > limits.maxBytes) throw tooLarge();

  await mkdir(limits.dir, { recursive: true });
  const tmp = await mkdtemp(join(limits.dir, 'upload-'));
  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> => (cleaned ??= rm(tmp, { recursive: true, force: true }));
  const fields = new Map<string, string[]>();
  const fileFields: string[] = [];
  let file: ReceivedFile | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const source = bodyStream(c);
      let settled = false;
      const writes: Promise<void>[] = [];
      const fail = (err: NanoGridError): void => {
        if (settled) return;
        settled = true;
        source.unpipe();
        // The rest of the body is read and dropped, so the client still gets the answer.
        source.resume();
        reject(err);
      };
      let parser: BusboyInstance;
      try {
        parser = new Busboy({
          headers: { ...c.req.header(), 'content-type': type },
          limits: { files: 8, fields: limits.maxFields ?? 32, fieldSize: limits.maxFieldBytes ?? 64 * 1024, parts: 64 },
        });
      } catch (err) {
        return fail(badRequest(`the multipart body cannot be read: ${(err as Error).message}`, err));
      }
      let received = 0;
      source.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > limits.maxBytes) fail(tooLarge());
      });
      source.once('error', (err) => fail(badRequest(`the request body could not be read: ${err.message}`, err)));
      source.once('close', () => {
        if (!source.readableEnded) fail(badRequest('the client closed the connection before the body was complete'));
      });
      parser.on('field', (name: string, value: string, _nameTruncated: boolean, valueTruncated: boolean) => {
        if (valueTruncated) {
          return fail(
            new NanoGridError('VALIDATION_FAILED', `"${name}" is over ${limits.maxFieldBytes ?? 64 * 1024} bytes`, {
              details: { field: name },
            }),
          );
        }
        const values = fields.get(name);
        if (values) values.push(value);
        else fields.set(name, [value]);
      });
      parser.on('file', (name: string, stream: BusboyFileStream, fileName: string) => {
        fileFields.push(name);
        if (name !== limits.fileField || file !== undefined || settled) {
          stream.resume(); // not ours to keep; the caller decides whether it is an error
          return;
        }
        const path = join(tmp, 'file');
        const received: ReceivedFile = { path, name: fileName ?? '', size: 0 };
        file = received;
        stream.on('data', (chunk: Buffer) => {
          received.size += chunk.length;
        });
        writes.push(
          pipeline(stream, createWriteStream(path, { flags: 'wx', mode: 0o600 })).catch((err: Error) =>
            fail(badRequest(`the uploaded file could not be stored: ${err.message}`, err)),
          ),
        );
      });
      for (const limit of ['partsLimit', 'filesLimit', 'fieldsLimit'] as const) {
        parser.on(limit, () => fail(badRequest(`the multipart body has too many parts (${limit})`)));
      }
      parser.on('error', (err: unknown) =>
        fail(badRequest(`the multipart body is malformed: ${(err as Error)?.message ?? String(err)}`, err)),
      );
      parser.on('finish', () => {
        void Promise.all(writes).then(() => {
          if (settled) return;
          settled = true;
          resolve();
        });
      });
      source.pipe(parser);
    });
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { fields, fileFields, file, cleanup };
}

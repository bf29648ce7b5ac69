import { extname } from 'node:path';
import { Readable } from 'node:stream';
import { NanoGridError, type StorageBackend, decodeStorageKey, isNanoGridError } from '@nanogrid/core';
import type { Context } from 'hono';

const TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.html': 'text/plain; charset=utf-8', // never rendered as a page of this origin
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
};

/**
 * `GET /files/<key>?expires=…&sig=…`: streams an object after checking its
 * signed link. The link is the credential, so this route needs no API key.
 */
export function filesHandler(storage: StorageBackend, verify: NonNullable<StorageBackend['verifySignedUrl']>) {
  return async (c: Context): Promise<Response> => {
    // The raw path: c.req.path is already partly decoded, and keys are encoded per segment.
    const rawKey = new URL(c.req.url).pathname.slice('/files/'.length);
    const key = decodeStorageKey(rawKey);
    const expires = c.req.query('expires') ?? '';
    const sig = c.req.query('sig') ?? '';
    if (!key || !verify(key, expires, sig)) {
      throw new NanoGridError(
        'LINK_INVALID',
        'this file link is invalid or has expired; ask for a new one through GET /status',
      );
    }
    let info;
    let stream;
    try {
      info = await storage.head(key);
      stream = await storage.get(key);
    } catch (err) {
      if (isNanoGridError(err, 'NOT_FOUND')) throw new NanoGridError('NOT_FOUND', `no file "${key}"`);
      throw err;
    }
    const headers: Record<string, string> = {
      'Content-Type': info?.contentType ?? TYPES[extname(key).toLowerCase()] ?? 'application/octet-stream',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'",
      'Cache-Control': 'private, max-age=300',
    };
    if (info) headers['Content-Length'] = String(info.size);
    return c.body(Readable.toWeb(stream) as ReadableStream, 200, headers);
  };
}

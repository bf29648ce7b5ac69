import type { IncomingMessage } from 'node:http';
import { NanoGridError } from '@nanogrid/core';
import type { Context } from 'hono';

function tooLarge(limit: number): NanoGridError {
  return new NanoGridError('PAYLOAD_TOO_LARGE', `the request body is over the limit of ${limit} bytes`, {
    details: { limit },
  });
}

/** The request body as text, at most `limit` bytes (PAYLOAD_TOO_LARGE past it). */
export async function readBodyText(c: Context, limit: number): Promise<string> {
  return (await readBodyBytes(c, limit)).toString('utf8');
}

/**
 * The request body, at most `limit` bytes (PAYLOAD_TOO_LARGE past
 * it). Under Node's server the bytes are read straight from the
 * IncomingMessage: building a web Request and its ReadableStream for every
 * call was a measurable share of the controller's CPU on the hot `/run`
 * path. Elsewhere (`app.request()` in tests, other runtimes) it reads the
 * web Request.
 */
export async function readBodyBytes(c: Context, limit: number): Promise<Buffer> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming || typeof incoming.on !== 'function' || incoming.readableDidRead) {
    const declared = Number(c.req.header('content-length'));
    if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
    const bytes = Buffer.from(await c.req.arrayBuffer());
    if (bytes.length > limit) throw tooLarge(limit);
    return bytes;
  }
  return readIncoming(incoming, limit);
}

/** The body of a request served straight from Node's server, at most `limit` bytes (PAYLOAD_TOO_LARGE past it). */
export async function readIncoming(incoming: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(incoming.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    incoming.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit)
        over = true; // keep draining so the connection stays usable for the answer
      else chunks.push(chunk);
    });
    incoming.once('end', () => (over ? reject(tooLarge(limit)) : resolve(Buffer.concat(chunks, size))));
    incoming.once('error', (err) =>
      reject(new NanoGridError('BAD_REQUEST', `the request body could not be read: ${err.message}`, { cause: err })),
    );
  });
}

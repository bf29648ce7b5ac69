import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { ZipSource } from './open-zip.js';

export interface Digest {
  sha256: string;
  size: number;
}

/** SHA-256 and size of bytes or of a file, the file read as a stream (never whole in memory). */
export async function digestOf(source: ZipSource | Readable): Promise<Digest> {
  if (Buffer.isBuffer(source))
    return { sha256: createHash('sha256').update(source).digest('hex'), size: source.length };
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of typeof source === 'string' ? createReadStream(source) : source) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { NanoGridError } from '../errors.js';
import { outputKey } from '../function-meta.js';
import type { StorageBackend } from '../plugins/storage-backend.js';

const CONTENT_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.json': 'application/json',
  '.html': 'text/html; charset=utf-8',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
};

export function contentTypeOf(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

interface Found {
  path: string;
  abs: string;
  size: number;
}

/** Regular files under `dir`, nested folders kept; links are not followed (they could point anywhere on the host). */
async function walk(dir: string, root: string, into: Found[]): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const abs = join(dir, entry.name);
    if (entry.isDirectory()) await walk(abs, root, into);
    else if (entry.isFile())
      into.push({ path: relative(root, abs).split(sep).join('/'), abs, size: (await lstat(abs)).size });
  }
}

/**
 * Stores every file a job left in its output directory under
 * `outputs/{job_id}/{path}` and returns their keys and download links, in path order.
 * Over `maxBytes` in all, nothing is stored and the job fails OUTPUT_TOO_LARGE.
 */
export async function collectOutputs(
  storage: StorageBackend,
  jobId: string,
  outputDir: string,
  opts: { maxBytes: number; urlTtlSec: number },
): Promise<{ key: string; url: string }[]> {
  const found: Found[] = [];
  await walk(outputDir, outputDir, found).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  const total = found.reduce((n, f) => n + f.size, 0);
  if (total > opts.maxBytes) {
    throw new NanoGridError(
      'OUTPUT_TOO_LARGE',
      `the function left ${total} bytes in /output; the limit per job is ${opts.maxBytes}`,
      {
        details: { bytes: total, limit: opts.maxBytes, files: found.length },
      },
    );
  }
  found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const stored: { key: string; url: string }[] = [];
  for (const f of found) {
    const key = outputKey(jobId, f.path);
    await storage.put(key, createReadStream(f.abs), { contentType: contentTypeOf(f.path) });
    stored.push({ key, url: await storage.url(key, { expiresIn: opts.urlTtlSec }) });
  }
  return stored;
}

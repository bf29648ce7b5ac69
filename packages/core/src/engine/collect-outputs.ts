import { constants } from 'node:fs';
import { type FileHandle, open, readdir } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { NanoGridError } from '../errors.js';
import { outputKey } from '../function-meta.js';
import { MAX_OUTPUT_FILES } from '../plugins/sandbox.js';
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

/** Opens a regular file without following a link (a FIFO opens at once and is refused by fstat). */
async function openRegular(abs: string): Promise<{ handle: FileHandle; size: number } | undefined> {
  const handle = await open(abs, O_RDONLY | O_NOFOLLOW | O_NONBLOCK).catch(() => undefined);
  if (!handle) return undefined;
  const st = await handle.stat();
  if (st.isFile()) return { handle, size: st.size };
  await handle.close();
  return undefined;
}

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;

/**
 * Regular files under `dir`, nested folders kept, each opened without
 * following a link and checked with fstat: a link (which could point anywhere
 * on the host) or a FIFO is never read, even if it replaced a file meanwhile.
 */
async function walk(dir: string, root: string, into: Found[]): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const abs = join(dir, entry.name);
    if (entry.isDirectory()) await walk(abs, root, into);
    else if (entry.isFile()) {
      const file = await openRegular(abs);
      if (!file) continue;
      await file.handle.close();
      into.push({ path: relative(root, abs).split(sep).join('/'), abs, size: file.size });
      if (into.length > MAX_OUTPUT_FILES) {
        throw new NanoGridError(
          'OUTPUT_TOO_LARGE',
          `the function left more than ${MAX_OUTPUT_FILES} files in /output`,
          {
            details: { files: into.length, limit: MAX_OUTPUT_FILES },
          },
        );
      }
    }
  }
}

/**
 * Stores every file a job left in its output directory under
 * `outputs/{job_id}/{path}` and returns their keys and download links, in path order.
 * Over `maxBytes` in all, or over MAX_OUTPUT_FILES, nothing is stored and the
 * job fails OUTPUT_TOO_LARGE; when storing fails halfway, what was stored is
 * deleted again (a failed job leaves no outputs behind).
 */
export async function collectOutputs(
  storage: StorageBackend,
  jobId: string,
  outputDir: string,
  opts: { maxBytes: number; urlTtlSec: number },
): Promise<{ key: string; url: string }[]> {
  const found: Found[] = [];
  const stored: { key: string; url: string }[] = [];
  try {
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
    for (const f of found) {
      const file = await openRegular(f.abs);
      if (!file) continue;
      const key = outputKey(jobId, f.path);
      try {
        // At most the size counted: a file grown meanwhile cannot pass the byte cap.
        const body = file.handle.createReadStream({ start: 0, end: Math.max(0, Math.min(f.size, file.size) - 1) });
        await storage.put(key, body, { contentType: contentTypeOf(f.path) });
      } finally {
        await file.handle.close().catch(() => undefined);
      }
      stored.push({ key, url: await storage.url(key, { expiresIn: opts.urlTtlSec }) });
    }
    return stored;
  } catch (err) {
    await Promise.allSettled(stored.map((s) => storage.delete(s.key)));
    throw err;
  }
}

import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat, symlink, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NanoGridError, isNanoGridError } from '../errors.js';
import { safeEntryPath, safeLinkTarget } from './entry-path.js';
import { badArchive, entryKind, entryMode, openZip, type ZipFileEntry, type ZipSource } from './open-zip.js';

export interface ZipLimits {
  /** Most entries (files, directories, links) in one archive. @default 10_000 */
  maxEntries?: number;
  /** Most uncompressed bytes, all entries together, counted while inflating (headers are not trusted). @default 256 MiB */
  maxBytes?: number;
}

export const DEFAULT_ZIP_LIMITS: Readonly<Required<ZipLimits>> = { maxEntries: 10_000, maxBytes: 256 * 1024 * 1024 };

/** Longest symlink target accepted (PATH_MAX). */
const MAX_LINK_TARGET = 4096;

/** Counts bytes across every entry of one archive and fails the stream past the limit. */
class ByteBudget {
  used = 0;
  constructor(readonly max: number) {}

  meter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) => {
        this.used += chunk.length;
        if (this.used > this.max) {
          cb(
            new NanoGridError('ARCHIVE_TOO_LARGE', `the archive unpacks to more than ${this.max} bytes`, {
              details: { maxBytes: this.max },
            }),
          );
        } else cb(null, chunk);
      },
    });
  }
}

/** Runs a stream pipeline of one entry; unzipper / zlib failures become BAD_ARCHIVE. */
async function pump(entryPath: string, ...streams: Parameters<typeof pipeline>): Promise<void> {
  try {
    await pipeline(...streams);
  } catch (err) {
    if (isNanoGridError(err)) throw err;
    throw badArchive(`the archive entry "${entryPath}" is corrupt: ${(err as Error)?.message ?? String(err)}`, err);
  }
}

async function readLinkTarget(file: ZipFileEntry, path: string, budget: ByteBudget): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  const collect = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      length += chunk.length;
      if (length > MAX_LINK_TARGET)
        return cb(badArchive(`the symlink "${path}" has a target longer than ${MAX_LINK_TARGET} bytes`));
      chunks.push(chunk);
      cb();
    },
  });
  await pump(path, file.stream(), budget.meter(), collect);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Unpacks a zip into `destDir` (created when missing; it should be empty)
 * and returns the relative paths of the files and links written, in archive
 * order. Refuses, before or while writing: `..` / absolute entry paths
 * (`ARCHIVE_PATH_TRAVERSAL`), symlinks whose target leaves the tree or that
 * other entries would be written through (`ARCHIVE_LINK_ESCAPE`), too many
 * entries (`ARCHIVE_TOO_MANY_ENTRIES`), too many uncompressed bytes
 * (`ARCHIVE_TOO_LARGE`), anything unreadable, encrypted or duplicated
 * (`BAD_ARCHIVE`). On failure nothing it wrote is left behind.
 */
export async function extractZip(source: ZipSource, destDir: string, limits: ZipLimits = {}): Promise<string[]> {
  const maxEntries = limits.maxEntries ?? DEFAULT_ZIP_LIMITS.maxEntries;
  const maxBytes = limits.maxBytes ?? DEFAULT_ZIP_LIMITS.maxBytes;
  const files = await openZip(source, maxEntries);

  // Check every entry before writing anything.
  const entries = files
    .map((file) => ({ file, path: safeEntryPath(file.path), kind: entryKind(file) }))
    .filter((e) => e.path !== '');
  for (const e of entries) {
    if (e.file.flags & 0x1) throw badArchive(`the archive entry "${e.path}" is encrypted`);
    if (e.kind !== 'directory' && e.file.compressionMethod !== 0 && e.file.compressionMethod !== 8) {
      throw badArchive(`the archive entry "${e.path}" uses unsupported compression method ${e.file.compressionMethod}`);
    }
  }
  // A link must never be a parent of another entry: writing through it could land anywhere.
  const links = new Set(entries.filter((e) => e.kind === 'symlink').map((e) => e.path));
  for (const e of entries) {
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (links.has(parent)) {
        throw new NanoGridError(
          'ARCHIVE_LINK_ESCAPE',
          `the archive entry "${e.path}" lies under the symlink "${parent}"`,
          {
            details: { entry: e.path, link: parent },
          },
        );
      }
    }
  }

  const root = resolve(destDir);
  const createdRoot = !(await stat(root).catch(() => undefined));
  const written: string[] = [];
  const budget = new ByteBudget(maxBytes);
  const pendingLinks: { path: string; target: string }[] = [];
  try {
    await mkdir(root, { recursive: true });
    for (const e of entries) {
      const target = join(root, e.path);
      if (e.kind === 'directory') {
        await mkdir(target, { recursive: true });
      } else if (e.kind === 'symlink') {
        const linkTarget = safeLinkTarget(e.path, await readLinkTarget(e.file, e.path, budget));
        pendingLinks.push({ path: e.path, target: linkTarget });
      } else {
        await mkdir(dirname(target), { recursive: true });
        const mode = entryMode(e.file) & 0o111 ? 0o755 : 0o644;
        // 'wx': never overwrite (a duplicate entry) nor follow a link at the final component.
        const out = createWriteStream(target, { flags: 'wx', mode });
        written.push(target);
        await pump(e.path, e.file.stream(), budget.meter(), out).catch((err: unknown) => {
          if (((err as NanoGridError).cause as NodeJS.ErrnoException | undefined)?.code === 'EEXIST') {
            written.pop(); // not ours: the file was there before this entry
            throw badArchive(`the archive holds "${e.path}" twice`, err);
          }
          throw err;
        });
      }
    }
    // Links last, so no file is ever written through one.
    for (const link of pendingLinks) {
      const at = join(root, link.path);
      await mkdir(dirname(at), { recursive: true });
      await symlink(link.target, at).catch((err: unknown) => {
        throw badArchive(`cannot create the symlink "${link.path}": ${(err as Error).message}`, err);
      });
      written.push(at);
    }
  } catch (err) {
    if (createdRoot) await rm(root, { recursive: true, force: true });
    else await Promise.all(written.map((p) => unlink(p).catch(() => undefined)));
    throw err;
  }
  return entries.filter((e) => e.kind !== 'directory').map((e) => e.path);
}

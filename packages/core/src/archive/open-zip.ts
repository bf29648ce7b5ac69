import { open } from 'node:fs/promises';
import type { CentralDirectory, File as ZipFileEntry } from 'unzipper';
import { NanoGridError } from '../errors.js';

export type { ZipFileEntry };

/** A zip given as its bytes or as a file path. */
export type ZipSource = Buffer | string;

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;

export function badArchive(message: string, cause?: unknown): NanoGridError {
  return new NanoGridError('BAD_ARCHIVE', message, cause === undefined ? {} : { cause });
}

/** Reads `length` bytes at `offset` (fewer at the end). */
type ReadAt = (offset: number, length: number) => Promise<Buffer>;

/**
 * The entry count the archive's end record declares, read before unzipper
 * parses the central directory: a record claiming millions of entries is
 * refused without building millions of objects.
 */
async function declaredEntryCount(size: number, readAt: ReadAt): Promise<number> {
  const tailStart = Math.max(0, size - EOCD_SIZE - MAX_COMMENT);
  const tail = await readAt(tailStart, size - tailStart);
  let at = -1;
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIG) {
      at = i;
      break;
    }
  }
  if (at < 0) throw badArchive('not a zip archive (no end of central directory record)');
  const count = Math.max(tail.readUInt16LE(at + 8), tail.readUInt16LE(at + 10));
  if (count !== 0xffff && tail.readUInt32LE(at + 16) !== 0xffffffff) return count;
  // zip64: the locator sits just before the classic end record and points at the zip64 record.
  const locAt = tailStart + at - 20;
  if (locAt < 0) throw badArchive('corrupt zip64 archive (no zip64 locator)');
  const loc = await readAt(locAt, 20);
  if (loc.length < 20 || loc.readUInt32LE(0) !== ZIP64_LOCATOR_SIG) return count;
  const recAt = Number(loc.readBigUInt64LE(8));
  if (!Number.isSafeInteger(recAt) || recAt < 0 || recAt + 56 > size)
    throw badArchive('corrupt zip64 archive (bad record offset)');
  const rec = await readAt(recAt, 56);
  if (rec.readUInt32LE(0) !== ZIP64_EOCD_SIG) throw badArchive('corrupt zip64 archive (bad record signature)');
  const total = rec.readBigUInt64LE(32);
  return total > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(total);
}

async function withReader<T>(source: ZipSource, fn: (size: number, readAt: ReadAt) => Promise<T>): Promise<T> {
  if (Buffer.isBuffer(source)) {
    return fn(source.length, async (offset, length) => source.subarray(offset, offset + length));
  }
  const handle = await open(source, 'r').catch((err: unknown) => {
    throw badArchive(`cannot read the archive ${source}: ${(err as Error).message}`, err);
  });
  try {
    const { size } = await handle.stat();
    return await fn(size, async (offset, length) => {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    });
  } finally {
    await handle.close();
  }
}

/**
 * Opens a zip's central directory with unzipper after checking its declared
 * entry count. Every parse failure becomes `BAD_ARCHIVE`; more entries than
 * `maxEntries` is `ARCHIVE_TOO_MANY_ENTRIES`.
 */
export async function openZip(source: ZipSource, maxEntries: number): Promise<ZipFileEntry[]> {
  const declared = await withReader(source, declaredEntryCount);
  const tooMany = (n: number) =>
    new NanoGridError('ARCHIVE_TOO_MANY_ENTRIES', `the archive has ${n} entries; the limit is ${maxEntries}`, {
      details: { entries: n, maxEntries },
    });
  if (declared > maxEntries) throw tooMany(declared);
  const { Open } = await import('unzipper');
  let dir: CentralDirectory;
  try {
    dir = Buffer.isBuffer(source) ? await Open.buffer(source) : await Open.file(source);
  } catch (err) {
    throw badArchive(`not a valid zip archive: ${(err as Error)?.message ?? String(err)}`, err);
  }
  // the directory may hold more records than the end record said
  if (dir.files.length > maxEntries) throw tooMany(dir.files.length);
  return dir.files;
}

export type ZipEntryKind = 'file' | 'directory' | 'symlink';

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;

/** Unix mode bits stored in the high half of the external attributes (0 when the zip has none). */
export function entryMode(file: ZipFileEntry): number {
  return (file.externalFileAttributes >>> 16) & 0xffff;
}

/** What an entry is; a symlink is only recognizable from its unix mode bits. */
export function entryKind(file: ZipFileEntry): ZipEntryKind {
  const type = entryMode(file) & S_IFMT;
  if (type === S_IFLNK) return 'symlink';
  if (type === S_IFDIR || /[/\\]$/.test(file.path)) return 'directory';
  return 'file';
}

import { safeEntryPath } from './entry-path.js';
import { DEFAULT_ZIP_LIMITS } from './extract-zip.js';
import { entryKind, entryMode, openZip, type ZipEntryKind, type ZipSource } from './open-zip.js';

/** One entry as the zip's central directory declares it. */
export interface ZipEntryInfo {
  /** Normalized relative path ('' entries such as `./` are left out). */
  path: string;
  kind: ZipEntryKind;
  /** Uncompressed size the archive claims: informative only, extraction counts real bytes. */
  size: number;
  compressedSize: number;
  /** Unix mode bits, 0 when the archive has none. */
  mode: number;
}

/**
 * Lists a zip without extracting it, e.g. to check an upload holds its
 * handler file. Throws like extractZip for a bad archive, too many entries
 * or an unsafe path; link targets and real sizes are only checked by extractZip.
 */
export async function listZip(source: ZipSource, limits: { maxEntries?: number } = {}): Promise<ZipEntryInfo[]> {
  const files = await openZip(source, limits.maxEntries ?? DEFAULT_ZIP_LIMITS.maxEntries);
  return files
    .map((file) => ({
      path: safeEntryPath(file.path),
      kind: entryKind(file),
      size: file.uncompressedSize,
      compressedSize: file.compressedSize,
      mode: entryMode(file),
    }))
    .filter((e) => e.path !== '');
}

import { posix } from 'node:path';
import { NanoGridError } from '../errors.js';

/**
 * The relative, `/`-separated path an archive entry may be written at.
 * Rejects absolute paths (`/etc/x`, `C:\x`, `\\server\x`) and any `..`
 * segment with `ARCHIVE_PATH_TRAVERSAL`. Backslashes count as separators so
 * a Windows-made `..\..\x` is caught too. Returns '' for the root itself (`./`).
 */
export function safeEntryPath(name: string): string {
  const raw = name.replace(/\\/g, '/');
  const reject = (why: string) =>
    new NanoGridError('ARCHIVE_PATH_TRAVERSAL', `the archive entry "${name}" ${why}`, { details: { entry: name } });
  if (raw.includes('\0')) throw reject('holds a NUL byte');
  if (raw.startsWith('/') || /^[a-zA-Z]:/.test(raw)) throw reject('has an absolute path');
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw reject('climbs out of the archive with ".."');
  return parts.join('/');
}

/**
 * Checks a symlink's target and returns it normalized (the form to write).
 * The target must be relative and, read from the link's own directory, stay
 * inside the tree. Normalizing leaves `..` only at the front, so the kernel
 * walks up through real directories only (links are never parents of other
 * entries, see extractZip) and the check is exact.
 */
export function safeLinkTarget(entryPath: string, target: string): string {
  const reject = (why: string) =>
    new NanoGridError('ARCHIVE_LINK_ESCAPE', `the archive's symlink "${entryPath}" → "${target}" ${why}`, {
      details: { entry: entryPath, target },
    });
  const raw = target.replace(/\\/g, '/');
  if (raw === '' || raw.includes('\0')) throw reject('has an empty or invalid target');
  if (raw.startsWith('/') || /^[a-zA-Z]:/.test(raw)) throw reject('points to an absolute path');
  const normalized = posix.normalize(raw);
  const ups = normalized.split('/').filter((p) => p === '..').length;
  const depth = entryPath.split('/').length - 1; // directories between the link and the root
  if (ups > depth) throw reject('points out of the extracted tree');
  return normalized;
}

import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { type ZipInputFile, createZip } from '@nanogrid/core';
import ignore from 'ignore';

/** Never packed: version control, installed dependencies (the host installs them at deploy), caches. */
export const ALWAYS_SKIPPED = ['.git/', 'node_modules/', '__pycache__/', '.nanogridignore', '.DS_Store'];

export interface PackedDir {
  zip: Buffer;
  /** Relative paths packed, sorted. */
  files: string[];
  /** Symbolic links left out (they could point outside the directory). */
  skippedLinks: string[];
}

export interface PackOptions {
  /** @default 10_000 */
  maxFiles?: number;
  /** Sum of the file sizes. @default 200 MiB */
  maxBytes?: number;
}

/** A local problem with what is being deployed: reported as is, exit status 1. */
export class PackError extends Error {}

/**
 * Zips a directory for `nanogrid deploy`: every regular file below it except
 * ALWAYS_SKIPPED and what `.nanogridignore` lists (gitignore syntax). Links are
 * left out rather than followed, so nothing outside the directory is sent.
 */
export async function packDir(dir: string, opts: PackOptions = {}): Promise<PackedDir> {
  const maxFiles = opts.maxFiles ?? 10_000;
  const maxBytes = opts.maxBytes ?? 200 * 1024 * 1024;
  const rules = ignore().add(ALWAYS_SKIPPED);
  const ignoreFile = await readFile(join(dir, '.nanogridignore'), 'utf8').catch(() => undefined);
  if (ignoreFile !== undefined) rules.add(ignoreFile);

  const files: ZipInputFile[] = [];
  const skippedLinks: string[] = [];
  let total = 0;
  const walk = async (at: string): Promise<void> => {
    const entries = await readdir(at, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const full = join(at, e.name);
      const rel = relative(dir, full).split(sep).join('/');
      if (rules.ignores(e.isDirectory() ? `${rel}/` : rel)) continue;
      if (e.isSymbolicLink()) skippedLinks.push(rel);
      else if (e.isDirectory()) await walk(full);
      else if (e.isFile()) {
        const st = await lstat(full);
        total += st.size;
        if (files.length + 1 > maxFiles || total > maxBytes) {
          throw new PackError(
            `${dir} holds more than ${maxFiles} files or ${maxBytes >> 20} MiB; list what the function does not need in .nanogridignore`,
          );
        }
        files.push({ path: rel, data: await readFile(full), mode: st.mode & 0o111 ? 0o755 : 0o644 });
      }
    }
  };
  await walk(dir);
  return { zip: await createZip(files), files: files.map((f) => f.path), skippedLinks };
}

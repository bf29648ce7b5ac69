import { copyFile, link, lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Recreates the tree `from` at `to` with hard links (a copy where linking is
 * refused, e.g. across filesystems): an installed dependency tree is shared by
 * every code version that uses it at no extra disk. Symlinks are left out, as
 * the Docker sandbox's copy of a run's output leaves them out.
 */
export async function linkTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    if (entry.isDirectory()) await linkTree(src, dst);
    else if (entry.isFile()) {
      await link(src, dst).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EXDEV' && err.code !== 'EPERM' && err.code !== 'EMLINK') throw err;
        await copyFile(src, dst);
      });
    }
  }
}

/** Bytes and files of a tree (regular files; links not followed). */
export async function treeSize(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.isFile()) {
        bytes += (await lstat(p)).size;
        files += 1;
      }
    }
  };
  await walk(dir);
  return { bytes, files };
}

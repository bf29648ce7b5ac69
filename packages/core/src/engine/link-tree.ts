import { copyFile, link, lstat, mkdir, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface LinkTreeOptions {
  /** A file or link already at a target name is replaced (a directory there is merged into). @default false */
  replace?: boolean;
  /** Symlinks are recreated as they are (their target text, never followed); else left out. @default false */
  symlinks?: boolean;
}

/**
 * Recreates the tree `from` at `to` with hard links (a copy where linking is
 * refused, e.g. across filesystems): an installed dependency tree is shared by
 * every code version that uses it at no extra disk. Symlinks are left out
 * unless asked for, as the Docker sandbox's copy of a run's output leaves them out.
 */
export async function linkTree(from: string, to: string, opts: LinkTreeOptions = {}): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    if (entry.isDirectory()) await linkTree(src, dst, opts);
    else if (entry.isFile() || (entry.isSymbolicLink() && opts.symlinks)) {
      if (opts.replace) await rm(dst, { force: true });
      if (entry.isSymbolicLink()) await symlink(await readlink(src), dst);
      else
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

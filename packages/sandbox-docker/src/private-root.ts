import { lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pidAlive } from './docker-orphans.js';

/**
 * Makes `root` and checks it is a real directory of this user and only theirs
 * (not a link planted in a shared /tmp): per-run directories are made under it.
 */
export async function ownPrivateRoot(root: string): Promise<void> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const st = await lstat(root);
  if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0) {
    throw new Error(`${root} must be a directory of uid ${process.getuid?.()} with mode 0700`);
  }
}

/**
 * Runs `remove` on each `{prefix}{pid}-…` entry of `root` whose worker process
 * is gone (a crash) and returns how many there were. Never throws.
 */
export async function removeStaleRunDirs(
  root: string,
  prefix: string,
  remove: (dir: string) => Promise<unknown>,
): Promise<number> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return 0;
  }
  const pattern = new RegExp(`^${prefix}(\\d+)-`);
  let removed = 0;
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (!pid || pid === process.pid || pidAlive(pid)) continue;
    await remove(join(root, name));
    removed++;
  }
  return removed;
}

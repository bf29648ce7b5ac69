import {
  closeSync,
  constants,
  copyFileSync,
  fstatSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { linkTree } from '@nanogrid/core';
import { ownPrivateRoot, removeStaleRunDirs } from './private-root.js';

/**
 * One warm instance's own code directory on the host, bind-mounted read-only
 * at `/code` when its container is created. A prewarmed spare gets the
 * runtime's files in it before it starts (its starter loads them while no
 * function is known); the function's code is linked in when the spare is
 * taken, which costs a hard link per file instead of a tar stream through the
 * Docker API. Nobody else mounts it: another instance cannot reach it.
 */
export interface InstanceCodeDir {
  /** Host directory, bound read-only at /code. */
  dir: string;
  /** Links (or copies, across filesystems) the function's prepared code in, replacing the runtime's files. */
  fill(codeDir: string): Promise<void>;
  /** Removes it; call once the container is removed. Never throws. */
  release(): Promise<void>;
}

const PREFIX = 'code-';

/**
 * Instance code directories of one worker under `root`, which must be a
 * directory of this user that nobody else may enter (mode 0700: the engine
 * resolves bind sources as root; inside a container only the instance's own
 * directory is seen, mode 0755 so the function's uid can read it).
 */
export class InstanceCodeDirs {
  constructor(private readonly root: string) {}

  async create(runId: string, files: Record<string, string> = {}): Promise<InstanceCodeDir> {
    await this.ownRoot();
    const dir = join(this.root, `${PREFIX}${process.pid}-${runId}`);
    const own = new Map<string, Buffer>(); // the runtime's files written here, by name
    await mkdir(dir, { mode: 0o755 });
    try {
      await chmod(dir, 0o755); // whatever the umask
      for (const [name, content] of Object.entries(files)) {
        if (name.includes('/') || name.startsWith('.')) continue; // the runtime's files are plain names
        await writeFile(join(dir, name), content, { mode: 0o644 });
        own.set(name, Buffer.from(content));
      }
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    let released: Promise<void> | undefined;
    return {
      dir,
      fill: async (codeDir) => {
        // A small tree in one go, off the thread pool: each async step would wait for a pool thread and the loop.
        if (!linkSmallTree(codeDir, dir, own)) await linkTree(codeDir, dir, { replace: true, symlinks: true });
        own.clear(); // filled once: what is here now is the function's
      },
      release: () => (released ??= rm(dir, { recursive: true, force: true }).catch(() => undefined)),
    };
  }

  private ownRoot(): Promise<void> {
    return ownPrivateRoot(this.root);
  }

  /** Removes directories of worker processes that are gone (a crash). Never throws. */
  removeStale(): Promise<number> {
    return removeStaleRunDirs(this.root, PREFIX, (dir) =>
      rm(dir, { recursive: true, force: true }).catch(() => undefined),
    );
  }
}

/** Entries a tree may have to be linked synchronously (a few syscalls each: well under a millisecond in all). */
const SYNC_MAX_ENTRIES = 256;

/**
 * linkTree's work for a tree of at most SYNC_MAX_ENTRIES entries, with
 * synchronous calls (the walk stops at the cap before anything is linked);
 * false when the tree is larger. Links are recreated, never followed.
 */
function linkSmallTree(from: string, to: string, own: ReadonlyMap<string, Buffer>): boolean {
  const dirs: string[] = [];
  const files: string[] = [];
  const links: string[] = [];
  const walk = (rel: string): boolean => {
    for (const e of readdirSync(join(from, rel), { withFileTypes: true })) {
      const path = rel ? join(rel, e.name) : e.name;
      if (e.isDirectory()) dirs.push(path);
      else if (e.isFile()) files.push(path);
      else if (e.isSymbolicLink()) links.push(path);
      if (dirs.length + files.length + links.length > SYNC_MAX_ENTRIES) return false;
      if (e.isDirectory() && !walk(path)) return false;
    }
    return true;
  };
  if (!walk('')) return false;
  for (const d of dirs) mkdirSync(join(to, d), { recursive: true });
  for (const f of files) {
    if (sameAsOwn(join(from, f), own.get(f))) continue;
    try {
      linkOver(join(from, f), join(to, f));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw err;
      copyFileSync(join(from, f), join(to, f));
    }
  }
  for (const l of links) {
    unlinkIfThere(join(to, l));
    symlinkSync(readlinkSync(join(from, l)), join(to, l));
  }
  return true;
}

/**
 * Whether a prepared file holds exactly the bytes of the runtime's file of that name already in the instance's
 * directory (the code cache writes the runtime's files into every prepared tree). Such a file stays: the
 * function sees the same bytes, and unlinking it costs ~0.2 ms each (its inode and pages are freed), most of
 * a first call's links. Reading a few small files costs a few µs.
 */
function sameAsOwn(path: string, content: Buffer | undefined): boolean {
  if (!content) return false;
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    if (fstatSync(fd).size !== content.length) return false;
    return readFileSync(fd).equals(content);
  } finally {
    closeSync(fd);
  }
}

/**
 * A hard link at `to`, replacing what is there: one link(2) for a new name (most of a function's files), an
 * unlink and a link for a name the spare's runtime files hold (rmSync would add two lstat calls to each).
 */
function linkOver(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    unlinkIfThere(to);
    linkSync(from, to);
  }
}

/** unlink(2) that takes a missing name as done; a directory in the way still throws, as rmSync did. */
function unlinkIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

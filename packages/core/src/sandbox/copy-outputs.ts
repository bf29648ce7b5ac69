import { constants, type Dirent } from 'node:fs';
import { mkdir, open, opendir, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { NanoGridError } from '../errors.js';
import { MAX_OUTPUT_FILES } from '../plugins/sandbox.js';

const { O_RDONLY, O_NOFOLLOW, O_DIRECTORY, O_NONBLOCK, O_WRONLY, O_CREAT, O_EXCL } = constants;

export interface CopyLimits {
  /** Files at most. @default MAX_OUTPUT_FILES */
  maxFiles?: number;
  /** Bytes at most, all files together. @default unlimited */
  maxBytes?: number;
  /** Plugin name for errors. */
  plugin: string;
}

/**
 * Opens `name` inside an open directory without following a link at the last
 * step: `/proc/self/fd/N/name` resolves N itself (whatever path it was
 * opened by), so this is openat(2) with O_NOFOLLOW. Every step of a walk
 * goes through it: a folder swapped for a link is refused, not followed.
 */
function openAt(dir: FileHandle, name: string, flags: number): Promise<FileHandle> {
  return open(`/proc/self/fd/${dir.fd}/${name}`, flags | O_NOFOLLOW);
}

/** Where a copy stands: files and bytes so far, top-level entries made in the destination. */
interface Copy {
  files: number;
  bytes: number;
  made: Set<string>;
  /** The destination exists (made at the first output). */
  rootMade: boolean;
  maxFiles: number;
  maxBytes: number;
  plugin: string;
}

function tooLarge(c: Copy, what: string): NanoGridError {
  return new NanoGridError('OUTPUT_TOO_LARGE', `the function left more than ${what} in /output`, {
    plugin: c.plugin,
    details: { maxFiles: c.maxFiles, maxBytes: c.maxBytes },
  });
}

/** Copies one open regular file, at most the size fstat saw (a file growing meanwhile cannot pass the caps). */
async function copyFile(src: FileHandle, size: number, mode: number, dest: string): Promise<void> {
  // Permission bits only (a build's binary stays executable); never setuid, setgid or sticky.
  const out = await open(dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode & 0o755);
  try {
    const buf = Buffer.allocUnsafe(Math.min(size, 1 << 20) || 1);
    for (let pos = 0; pos < size; ) {
      const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, size - pos), pos);
      if (bytesRead === 0) break;
      await out.write(buf, 0, bytesRead);
      pos += bytesRead;
    }
  } finally {
    await out.close();
  }
}

/** Copies the regular files under an open directory (links, FIFOs, devices and sockets are left out). */
async function copyDir(dir: FileHandle, to: string, top: boolean, c: Copy): Promise<void> {
  const entries: Dirent[] = [];
  for await (const e of await opendir(`/proc/self/fd/${dir.fd}`)) entries.push(e);
  for (const e of entries) {
    if (!e.isDirectory() && !e.isFile()) continue;
    // O_NONBLOCK: a FIFO put there meanwhile opens at once instead of blocking the host (fstat rejects it).
    const h = await openAt(dir, e.name, O_RDONLY | O_NONBLOCK | (e.isDirectory() ? O_DIRECTORY : 0)).catch(
      () => undefined,
    );
    if (!h) continue; // replaced by a link or removed meanwhile: not an output
    try {
      const st = await h.stat();
      const dest = join(to, e.name);
      if (top && !c.rootMade && (st.isDirectory() || st.isFile())) {
        await mkdir(to, { recursive: true }); // made only when there is something to put in it
        c.rootMade = true;
      }
      if (st.isDirectory()) {
        await mkdir(dest);
        if (top) c.made.add(dest);
        await copyDir(h, dest, false, c);
      } else if (st.isFile()) {
        if (++c.files > c.maxFiles) throw tooLarge(c, `${c.maxFiles} files`);
        c.bytes += st.size;
        if (c.bytes > c.maxBytes) throw tooLarge(c, `${c.maxBytes} bytes`);
        if (top) c.made.add(dest);
        await copyFile(h, st.size, st.mode, dest);
      }
    } finally {
      await h.close();
    }
  }
}

export async function copyOutputs(from: string, to: string, limits: CopyLimits): Promise<number> {
  const root = await open(from, O_RDONLY | O_DIRECTORY | O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ELOOP' || err.code === 'ENOTDIR') return undefined; // no outputs, or the folder itself swapped for a link
    throw err;
  });
  if (!root) return 0;
  const c: Copy = {
    files: 0,
    bytes: 0,
    made: new Set(),
    rootMade: false,
    maxFiles: limits.maxFiles ?? MAX_OUTPUT_FILES,
    maxBytes: limits.maxBytes ?? Number.POSITIVE_INFINITY,
    plugin: limits.plugin,
  };
  try {
    await copyDir(root, to, true, c);
    return c.files;
  } catch (err) {
    await Promise.all([...c.made].map((p) => rm(p, { recursive: true, force: true })));
    throw err;
  } finally {
    await root.close();
  }
}

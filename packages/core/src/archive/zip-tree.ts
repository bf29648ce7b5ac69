import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';

async function filesOf(root: string, dir = root, out: string[] = []): Promise<string[]> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await filesOf(root, path, out);
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/**
 * A zip of the regular files below `dir` (paths relative to it, modes kept,
 * links left out), streamed as it is written: a tree of any size never sits
 * in memory whole.
 */
export async function zipTree(dir: string): Promise<Readable> {
  const { ZipFile } = await import('yazl');
  const zip = new ZipFile();
  for (const file of await filesOf(dir)) zip.addFile(file, relative(dir, file).split(sep).join('/'));
  zip.end();
  return zip.outputStream as unknown as Readable;
}

import { NanoGridError } from '../errors.js';
import { safeEntryPath } from './entry-path.js';

/** One file to put in a zip. */
export interface ZipInputFile {
  /** Relative path inside the archive (`/`-separated, no `..`). */
  path: string;
  data: Buffer | string;
  /** Unix permission bits, e.g. 0o755 for an executable. @default 0o644 */
  mode?: number;
}

/**
 * Builds a zip in memory (deflate, fixed timestamps so the same files give
 * the same bytes and the same code hash). The controller uses it to wrap a
 * single uploaded source file as `code.zip`.
 */
export async function createZip(files: readonly ZipInputFile[]): Promise<Buffer> {
  const { ZipFile } = await import('yazl');
  const zip = new ZipFile();
  const seen = new Set<string>();
  const mtime = new Date(Date.UTC(2000, 0, 1));
  for (const file of files) {
    const path = safeEntryPath(file.path);
    if (path === '') throw new NanoGridError('BAD_REQUEST', `a zip entry needs a file name, got "${file.path}"`);
    if (seen.has(path)) throw new NanoGridError('BAD_REQUEST', `the file "${path}" is given twice`);
    seen.add(path);
    const data = typeof file.data === 'string' ? Buffer.from(file.data) : file.data;
    // regular-file type bits plus the permissions
    zip.addBuffer(data, path, { mode: 0o100000 | ((file.mode ?? 0o644) & 0o7777), mtime, compress: true });
  }
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    zip.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
  zip.end();
  return done;
}

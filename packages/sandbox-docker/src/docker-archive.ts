import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { NanoGridError } from '@nanogrid/core';

/**
 * Tar stream of `codeDir` for `putArchive` into `/code`. Every entry is owned
 * by root with plain modes (dirs 0755, files 0644 or 0755 when executable):
 * the function (uid 65534) can read its code but never change it, whatever
 * uid owned the files on the worker's disk.
 */
export async function packCodeDir(codeDir: string): Promise<Readable> {
  const tar = await import('tar-fs');
  return tar.pack(codeDir, {
    map(header) {
      header.uid = 0;
      header.gid = 0;
      const h = header as typeof header & { uname?: string; gname?: string };
      h.uname = 'root';
      h.gname = 'root';
      if (header.type === 'directory') header.mode = 0o755;
      else if (header.type === 'file') header.mode = header.mode & 0o111 ? 0o755 : 0o644;
      return header;
    },
  }) as unknown as Readable;
}

export interface ExtractLimits {
  /** Total bytes of files accepted. */
  maxBytes: number;
  /** Entries (files + directories) accepted. */
  maxEntries: number;
}

export interface ExtractReport {
  files: number;
  bytes: number;
  /** Symlinks, hard links, devices …: never copied to the host. */
  skipped: number;
}

/**
 * Extracts the tar that `getArchive('/output')` returns (entries named
 * `output/…`) into `outputDir`. Only regular files and directories are
 * written, each checked to stay inside `outputDir`; links are skipped so a
 * function cannot point the worker at host files. Over a limit the copy stops
 * with OUTPUT_TOO_LARGE.
 */
export async function extractOutputArchive(
  archive: Readable | NodeJS.ReadableStream,
  outputDir: string,
  limits: ExtractLimits,
): Promise<ExtractReport> {
  const tar = await import('tar-fs');
  const root = path.resolve(outputDir);
  await mkdir(root, { recursive: true });
  const report: ExtractReport = { files: 0, bytes: 0, skipped: 0 };
  let entries = 0;
  let over: NanoGridError | undefined;
  const source = archive as Readable;

  const extract = tar.extract(root, {
    strip: 1,
    // The worker may run as root: never give files the container's uids.
    ...({ chown: false } as object),
    map(header) {
      // No setuid/setgid/sticky bits on the host, and the worker can always clean up.
      header.mode = (header.mode & 0o777) | (header.type === 'directory' ? 0o700 : 0o600);
      return header;
    },
    ignore(name, header) {
      if (!header || over) return true;
      const inside = name === root || name.startsWith(root + path.sep);
      if (!inside || (header.type !== 'file' && header.type !== 'directory')) {
        report.skipped++;
        return true;
      }
      entries++;
      if (header.type === 'file') {
        report.files++;
        report.bytes += header.size;
      }
      if (report.bytes > limits.maxBytes || entries > limits.maxEntries) {
        over = new NanoGridError(
          'OUTPUT_TOO_LARGE',
          report.bytes > limits.maxBytes
            ? `the function left more than ${limits.maxBytes} bytes in /output`
            : `the function left more than ${limits.maxEntries} files in /output`,
          { plugin: 'docker-sandbox', details: { maxBytes: limits.maxBytes, maxEntries: limits.maxEntries } },
        );
        // Stop reading the archive: the rest would only be thrown away.
        setImmediate(() => stop());
        return true;
      }
      return false;
    },
  });

  let stop = () => {};
  try {
    // Piped by hand (not stream.pipeline) so stopping early is a plain resolve, not a premature-close error.
    await new Promise<void>((resolve, reject) => {
      stop = () => {
        source.unpipe(extract as unknown as NodeJS.WritableStream);
        source.destroy();
        (extract as unknown as { destroy(): void }).destroy();
        resolve();
      };
      extract.on('finish', () => resolve());
      extract.on('error', reject);
      source.on('error', reject);
      source.pipe(extract as unknown as NodeJS.WritableStream);
    });
  } catch (err) {
    if (!over) {
      await emptyDir(root);
      throw new NanoGridError(
        'SANDBOX_ERROR',
        // The worker's paths stay out of what the client reads (the cause keeps them for the logs).
        `copying /output out of the container failed: ${(err as Error).message.split(root).join('<output>')}`,
        {
          plugin: 'docker-sandbox',
          cause: err,
        },
      );
    }
  }
  if (over) {
    // All or nothing: a run over a cap leaves no part of its outputs behind.
    await emptyDir(root);
    throw over;
  }
  return report;
}

/** Removes what is inside `dir` (the caller owns the directory itself). */
async function emptyDir(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => []);
  await Promise.all(names.map((name) => rm(path.join(dir, name), { recursive: true, force: true })));
}

import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { createZip } from '../archive/create-zip.js';
import { extractZip } from '../archive/extract-zip.js';
import type { ZipSource } from '../archive/open-zip.js';
import { NanoGridError } from '../errors.js';
import type { RuntimePlugin } from '../plugins/runtime-plugin.js';
import type { CodeFile } from './validate-deploy.js';

/** The code of a deploy as stored: one zip, and the file that holds the handler. */
export interface PackagedCode {
  /** The zip's bytes, or the path of the uploaded zip file. */
  zip: ZipSource;
  entryFile: string;
  /** Every file of the code, relative paths. */
  files: string[];
}

const FILE_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/**
 * Candidate files of a `module.function` handler: the runtime's own rule when
 * it has one, else `main.handler` → `main.py`, `pkg.mod.handler` → `pkg/mod.py`,
 * `src/index.handler` → `src/index.py` (for each extension of the runtime).
 */
export function handlerFiles(handler: string, plugin: RuntimePlugin): string[] {
  if (plugin.entryFiles) return plugin.entryFiles(handler);
  const dot = handler.lastIndexOf('.');
  if (dot <= 0) return [];
  const path = handler.slice(0, dot).split('.').join('/');
  return plugin.extensions.map((ext) => `${path}${ext}`);
}

/**
 * Picks the entry file of a zip: the handler's module when the zip has it,
 * else the only source file of the runtime, else the runtime's conventional
 * main file (`main.cpp`, `main.go`); anything else is HANDLER_NOT_FOUND.
 */
export function pickEntryFile(files: readonly string[], handler: string, plugin: RuntimePlugin): string {
  const set = new Set(files);
  // A program (C++, Go) has no handler: its value names no file.
  const candidates = plugin.takesHandler === false ? [] : handlerFiles(handler, plugin);
  const fromHandler = candidates.find((f) => set.has(f));
  if (fromHandler) return fromHandler;
  const sources = files.filter((f) => plugin.extensions.includes(extname(f)));
  if (sources.length === 1 && sources[0] !== undefined) return sources[0];
  const main = plugin.extensions.map((ext) => `main${ext}`).find((f) => set.has(f));
  if (main) return main;
  throw new NanoGridError(
    'HANDLER_NOT_FOUND',
    sources.length === 0
      ? `the archive holds no ${plugin.extensions.join(' / ')} file for runtime ${plugin.name}`
      : `handler "${handler}" names none of the archive's files (${handlerFiles(handler, plugin).join(' or ')} expected; found ${sources.slice(0, 10).join(', ')})`,
    { details: { field: 'handler', handler } },
  );
}

/**
 * Turns an upload into the stored code: a zip is extracted into `scratchDir`
 * (which enforces the path, link, entry and size rules) and kept as uploaded;
 * a single source file is wrapped in a new zip.
 */
export async function packageCode(
  fileName: string,
  data: Buffer | CodeFile,
  handler: string,
  plugin: RuntimePlugin,
  scratchDir: string,
  limits: { maxEntries: number; maxBytes: number },
): Promise<PackagedCode> {
  const name = basename(fileName);
  if (extname(name).toLowerCase() === '.zip') {
    const zip = Buffer.isBuffer(data) ? data : data.path;
    const files = await extractZip(zip, scratchDir, limits);
    return { zip, entryFile: pickEntryFile(files, handler, plugin), files };
  }
  if (!plugin.extensions.includes(extname(name))) {
    throw new NanoGridError(
      'UNSUPPORTED_FILE_TYPE',
      `"${name}" is not a ${plugin.extensions.join(' / ')} source file or a .zip, which runtime ${plugin.name} takes`,
      { details: { field: 'file', extensions: [...plugin.extensions, '.zip'] } },
    );
  }
  if (!FILE_NAME_RE.test(name)) {
    throw new NanoGridError('VALIDATION_FAILED', `file name "${name}" must be letters, digits, "_", "-" or "."`, {
      details: { field: 'file' },
    });
  }
  const size = Buffer.isBuffer(data) ? data.length : data.size;
  if (size > limits.maxBytes) {
    throw new NanoGridError('ARCHIVE_TOO_LARGE', `the file is ${size} bytes; the limit is ${limits.maxBytes}`, {
      details: { limit: limits.maxBytes },
    });
  }
  const source = Buffer.isBuffer(data) ? data : await readFile(data.path);
  return { zip: await createZip([{ path: name, data: source }]), entryFile: name, files: [name] };
}

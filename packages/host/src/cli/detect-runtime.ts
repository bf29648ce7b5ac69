import { extname } from 'node:path';
import { PackError } from './pack-dir.js';

/** Source extensions of the built-in runtimes and the runtime id a deploy uses for them. */
const BY_EXTENSION: Record<string, string> = {
  '.py': 'python3',
  '.js': 'nodejs',
  '.mjs': 'nodejs',
  '.cjs': 'nodejs',
  '.cpp': 'cpp',
  '.cc': 'cpp',
  '.cxx': 'cpp',
  '.go': 'go',
};

/** The runtime of what is deployed, from its source files; a clear error when there are none or several kinds. */
export function detectRuntime(what: string, files: readonly string[]): string {
  const kinds = new Set(
    files.map((f) => BY_EXTENSION[extname(f).toLowerCase()]).filter((r): r is string => r !== undefined),
  );
  if (kinds.size === 1) return [...kinds][0] as string;
  if (kinds.size === 0) {
    const shown = files.slice(0, 8).join(', ') + (files.length > 8 ? ', …' : '');
    throw new PackError(
      `no entry file in ${what}: expected a source file (${Object.keys(BY_EXTENSION).join(' ')})${files.length ? `, found ${shown}` : ', found no files'}`,
    );
  }
  throw new PackError(
    `${what} holds sources of several runtimes (${[...kinds].join(', ')}); pass --runtime (or "runtime" in nanogrid.json)`,
  );
}

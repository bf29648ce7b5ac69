import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds a command the way a shell would: a name with a slash is taken
 * relative to `cwd`, a bare name is searched in `pathDirs`. Returns the
 * absolute path, or undefined when nothing executable is there.
 */
export function findExecutable(command: string, pathDirs: readonly string[], cwd = process.cwd()): string | undefined {
  if (command.includes('/')) {
    const file = isAbsolute(command) ? command : resolve(cwd, command);
    return isExecutableFile(file) ? file : undefined;
  }
  for (const dir of pathDirs) {
    if (!dir || !isAbsolute(dir)) continue; // relative PATH entries depend on cwd: never trust them
    const file = join(dir, command);
    if (isExecutableFile(file)) return file;
  }
  return undefined;
}

/** Splits a PATH string into its directories. */
export function splitPath(path: string | undefined): string[] {
  return (path ?? '').split(delimiter).filter(Boolean);
}

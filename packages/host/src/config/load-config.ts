import { resolve } from 'node:path';
import { type ConfigExport, type NanoGridConfig, NanoGridError } from '@nanogrid/core';
import { cosmiconfig } from 'cosmiconfig';
import { loadTsConfigFile } from './load-ts.js';
import { validateConfig } from './validate-config.js';

export interface LoadConfigOptions {
  /** Directory searched for a config file (only this one, not its parents). @default process.cwd() */
  cwd?: string;
  /** A config file to load instead of searching; relative to `cwd`. */
  configPath?: string;
}

export interface LoadedConfig {
  config: NanoGridConfig;
  /** The file it came from; undefined when none was found (embedded defaults). */
  filepath?: string;
}

/** Files looked for, in order (plus a `nanogrid` key in package.json). */
export const CONFIG_FILES = [
  'nanogrid.config.ts',
  'nanogrid.config.mts',
  'nanogrid.config.mjs',
  'nanogrid.config.js',
  'nanogrid.config.cjs',
  'nanogrid.config.json',
  'package.json',
] as const;

/**
 * Finds and loads `nanogrid.config.*` with cosmiconfig. The default export may be
 * the config or an (async) function returning it. The result is validated;
 * no file means an empty config, i.e. the embedded defaults.
 */
export async function loadConfig(opts: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = resolve(opts.cwd ?? process.cwd());
  const explorer = cosmiconfig('nanogrid', {
    searchPlaces: [...CONFIG_FILES],
    // Only `cwd`: a config picked up from some parent directory would surprise more than help.
    searchStrategy: 'none',
    cache: false,
    loaders: { '.ts': loadTsConfigFile, '.mts': loadTsConfigFile },
  });

  const source = opts.configPath ? resolve(cwd, opts.configPath) : cwd;
  let found: { config: unknown; filepath: string; isEmpty?: boolean } | null;
  try {
    found = opts.configPath ? await explorer.load(source) : await explorer.search(cwd);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const what = e.code === 'ENOENT' ? 'config file not found' : `could not load the config: ${e.message}`;
    throw new NanoGridError('CONFIG_INVALID', `${source}: ${what}`, { cause: err, details: { file: source } });
  }
  if (!found || found.isEmpty) return found ? { config: {}, filepath: found.filepath } : { config: {} };

  let exported = found.config as ConfigExport | undefined;
  if (exported === undefined) {
    throw new NanoGridError(
      'CONFIG_INVALID',
      `${found.filepath}: no default export (use \`export default defineConfig({...})\`)`,
      {
        details: { file: found.filepath },
      },
    );
  }
  if (typeof exported === 'function') {
    try {
      exported = await exported();
    } catch (err) {
      throw new NanoGridError(
        'CONFIG_INVALID',
        `${found.filepath}: the config function threw: ${(err as Error).message}`,
        {
          cause: err,
          details: { file: found.filepath },
        },
      );
    }
  }
  return { config: validateConfig(exported, found.filepath), filepath: found.filepath };
}

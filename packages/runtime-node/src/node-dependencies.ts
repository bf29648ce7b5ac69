import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { NanoGridError, type RuntimeDependencyStep, shellQuote } from '@nanogrid/core';
import { checkLock, manifestPackages, normalizeRegistry } from './package-manifest.js';

const CA_FILE = '__nanogrid_ca.pem';
/** Empty npm config files: the host's and the upload's .npmrc never reach the installer. */
const NO_CONFIG = { __nanogrid_npmrc_user: '', __nanogrid_npmrc_global: '' };
const LOCKS = ['package-lock.json', 'npm-shrinkwrap.json'] as const;

export interface NodeDependencyOptions {
  /**
   * Registry packages come from. A loopback address works from the Docker
   * sandbox too (it becomes the Docker host's alias).
   * @default the host's npm config: npm_config_registry, else `registry=` of ~/.npmrc, else https://registry.npmjs.org/
   */
  registry?: string;
  /**
   * Run the install scripts (`preinstall`, `install`, `postinstall`) of the
   * packages. Off, npm runs with `--ignore-scripts`: no package code runs at
   * install, and packages that build a native addon in a script do not work.
   * @default false
   */
  installScripts?: boolean;
  /**
   * CA bundle added to Node's (a private registry behind its own CA, a TLS-inspecting proxy).
   * @default process.env.NODE_EXTRA_CA_CERTS (Node's own roots when unset)
   */
  caFile?: string;
  /** npm binary, looked up on PATH inside the sandbox. @default 'npm' */
  npm?: string;
  /** Seconds an install may take. @default 300 */
  timeoutSec?: number;
  /** Megabytes the installed node_modules may take. @default 512 */
  maxMb?: number;
  /** Install even when the sandbox does not isolate (no bubblewrap). @default false */
  allowUnisolated?: boolean;
}

/** The registry of the host's npm config (environment, then the user's .npmrc). */
function hostRegistry(): string | undefined {
  const fromEnv = process.env.npm_config_registry ?? process.env.NPM_CONFIG_REGISTRY;
  if (fromEnv) return fromEnv;
  try {
    return /^\s*registry\s*=\s*(\S+)\s*$/m.exec(readFileSync(join(homedir(), '.npmrc'), 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

function readCa(path: string | undefined, explicit: boolean): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (!explicit) return undefined;
    throw new NanoGridError(
      'CONFIG_INVALID',
      `node dependencies: caFile ${path} cannot be read: ${(err as Error).message}`,
    );
  }
}

/**
 * package.json (+ package-lock.json / npm-shrinkwrap.json) → `npm ci` (with a
 * lock) or `npm install` (without), production dependencies only, into the
 * function's `node_modules`. npm's config files are ignored (an upload's
 * .npmrc never reaches the installer), so only these settings count.
 */
export function nodeDependencies(opts: NodeDependencyOptions = {}): RuntimeDependencyStep {
  const npm = opts.npm ?? 'npm';
  const caFile = opts.caFile ?? process.env.NODE_EXTRA_CA_CERTS;
  return {
    manifest: 'package.json',
    lockFiles: LOCKS,
    target: 'node_modules',
    vendored: /^node_modules$/,
    timeoutMs: (opts.timeoutSec ?? 300) * 1000,
    maxBytes: (opts.maxMb ?? 512) * 1024 * 1024,
    ...(opts.allowUnisolated ? { allowUnisolated: true } : {}),
    plan({ manifest, locks, hostUrl }) {
      const packages = manifestPackages(manifest);
      if (packages.length === 0) return null;
      const registry = normalizeRegistry(opts.registry ?? hostRegistry());
      const lock = LOCKS.find((name) => locks[name] !== undefined);
      if (lock) checkLock(lock, locks[lock]!, registry);
      const args = lock ? ['ci'] : ['install', '--no-package-lock'];
      args.push(
        '--omit=dev',
        '--no-audit',
        '--no-fund',
        '--no-update-notifier',
        '--no-bin-links',
        '--registry',
        hostUrl(registry),
      );
      if (!opts.installScripts) args.push('--ignore-scripts');
      const ca = readCa(caFile, opts.caFile !== undefined);
      const script = [
        'set -e',
        'src="$PWD"',
        'export npm_config_userconfig="$src/__nanogrid_npmrc_user" npm_config_globalconfig="$src/__nanogrid_npmrc_global"',
        // npm writes node_modules beside package.json: the output directory is the writable place.
        `cp package.json ${lock ? shellQuote(lock) : ''} "$OUTPUT_DIR"/`,
        'cd "$OUTPUT_DIR"',
        ...(ca ? [`export NODE_EXTRA_CA_CERTS="$src/${CA_FILE}"`] : []),
        `${[npm, ...args].map(shellQuote).join(' ')} --cache "$OUTPUT_DIR/.npm-cache"`,
        `rm -rf .npm-cache package.json ${LOCKS.join(' ')}`,
      ].join('\n');
      return {
        command: ['sh', '-c', script],
        env: { NODE_ENV: 'production' },
        fingerprint: JSON.stringify({ npm, registry, scripts: opts.installScripts === true }),
        packages,
        files: { ...NO_CONFIG, ...(ca ? { [CA_FILE]: ca } : {}) },
      };
    },
  };
}

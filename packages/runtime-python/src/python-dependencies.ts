import { readFileSync } from 'node:fs';
import { NanoGridError, type RuntimeDependencyStep, shellQuote } from '@nanogrid/core';
import { parseRequirements } from './requirements.js';

/** Folder of the code directory the packages of requirements.txt are installed in; it is on `sys.path`. */
export const PYTHON_DEPS_DIR = '__nanogrid_deps';

/** File name of the CA bundle in the install directory. */
const CA_FILE = '__nanogrid_ca.pem';

export interface PythonDependencyOptions {
  /**
   * Index packages come from (PEP 503 simple API), e.g. a private mirror or
   * a directory served on the host. A loopback address works from the Docker
   * sandbox too (it becomes the Docker host's alias; listen on an address the
   * bridge reaches).
   * @default process.env.PIP_INDEX_URL, else pip's default (PyPI)
   */
  indexUrl?: string;
  /** More indexes searched besides it. @default process.env.PIP_EXTRA_INDEX_URL, split on spaces */
  extraIndexUrls?: readonly string[];
  /**
   * Allow packages published only as source (sdist): pip then runs their
   * setup code at install. Off, only wheels are installed and no code of
   * any package runs at install (`--only-binary=:all:`).
   * @default false
   */
  allowSourceBuilds?: boolean;
  /**
   * CA bundle pip trusts (a private index behind its own CA, a TLS-inspecting proxy).
   * @default process.env.PIP_CERT ?? process.env.REQUESTS_CA_BUNDLE (pip's own bundle when neither is set)
   */
  caFile?: string;
  /** Seconds an install may take. @default 300 */
  timeoutSec?: number;
  /** Megabytes the installed packages may take. @default 512 */
  maxMb?: number;
  /** Install even when the sandbox does not isolate (no bubblewrap). @default false */
  allowUnisolated?: boolean;
}

function readCa(path: string | undefined, explicit: boolean): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (!explicit) return undefined;
    throw new NanoGridError(
      'CONFIG_INVALID',
      `python dependencies: caFile ${path} cannot be read: ${(err as Error).message}`,
    );
  }
}

/**
 * requirements.txt → `pip install --target __nanogrid_deps` in the runtime's
 * image (the host's interpreter in the process sandbox), with pip's config
 * files ignored so only these settings count.
 */
export function pythonDependencies(python: string, opts: PythonDependencyOptions = {}): RuntimeDependencyStep {
  const indexUrl = opts.indexUrl ?? process.env.PIP_INDEX_URL;
  const extras = opts.extraIndexUrls ?? (process.env.PIP_EXTRA_INDEX_URL ?? '').split(/\s+/).filter(Boolean);
  const caFile = opts.caFile ?? process.env.PIP_CERT ?? process.env.REQUESTS_CA_BUNDLE;
  return {
    manifest: 'requirements.txt',
    target: PYTHON_DEPS_DIR,
    // `pip install -t .` leaves *.dist-info folders at the root: such an upload carries its packages.
    vendored: new RegExp(`\\.dist-info$|^${PYTHON_DEPS_DIR}$`),
    timeoutMs: (opts.timeoutSec ?? 300) * 1000,
    maxBytes: (opts.maxMb ?? 512) * 1024 * 1024,
    ...(opts.allowUnisolated ? { allowUnisolated: true } : {}),
    plan({ manifest, hostUrl }) {
      const requirements = parseRequirements(manifest);
      if (requirements.length === 0) return null;
      const args = [
        'install',
        '--no-input',
        '--disable-pip-version-check',
        '--no-cache-dir',
        '--no-warn-script-location',
        '--progress-bar',
        'off',
      ];
      if (!opts.allowSourceBuilds) args.push('--only-binary=:all:');
      const trusted = new Set<string>();
      const index = (url: string): string => {
        const seen = hostUrl(url);
        // pip trusts plain http on loopback only; the host's own index keeps that trust under its alias.
        if (seen !== url && seen.startsWith('http:')) trusted.add(new URL(seen).hostname);
        return seen;
      };
      if (indexUrl) args.push('--index-url', index(indexUrl));
      for (const url of extras) args.push('--extra-index-url', index(url));
      for (const host of trusted) args.push('--trusted-host', host);
      const ca = readCa(caFile, opts.caFile !== undefined);
      const target = `--target "$OUTPUT_DIR/${PYTHON_DEPS_DIR}" -r requirements.txt`;
      const pip = `${[python, '-m', 'pip', ...args].map(shellQuote).join(' ')} ${target}`;
      const script = [
        // pip stages a whole install in TMPDIR: the sandbox's /tmp may be a small tmpfs.
        'export TMPDIR="$OUTPUT_DIR/.tmp"',
        'mkdir -p "$TMPDIR"',
        ...(ca ? [`export PIP_CERT="$PWD/${CA_FILE}"`] : []),
        `${pip}; rc=$?`,
        'rm -rf "$TMPDIR"',
        'exit $rc',
      ].join('\n');
      return {
        command: ['sh', '-c', script],
        env: { PIP_CONFIG_FILE: '/dev/null' },
        fingerprint: JSON.stringify({ python, indexUrl, extras, source: opts.allowSourceBuilds === true }),
        packages: requirements.map((r) => r.name),
        ...(ca ? { files: { [CA_FILE]: ca } } : {}),
      };
    },
  };
}

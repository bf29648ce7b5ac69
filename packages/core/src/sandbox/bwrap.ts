import { spawnSync } from 'node:child_process';
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import type { NetworkPolicy } from '../function-meta.js';
import { findExecutable } from './find-executable.js';

/** Host directories a run sees read-only, at the same path (the toolchain). */
export const SYSTEM_DIRS = ['/usr', '/opt', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'] as const;

/**
 * The part of /etc a program needs (users, DNS, TLS roots, the dynamic linker,
 * Debian's alternatives symlinks). Not all of /etc: it holds host secrets.
 */
const ETC_ENTRIES = new Set([
  'alternatives',
  'ca-certificates',
  'ca-certificates.conf',
  'crypto-policies',
  'debian_version',
  'fonts',
  'gai.conf',
  'group',
  'host.conf',
  'hostname',
  'hosts',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'locale.alias',
  'locale.conf',
  'localtime',
  'mime.types',
  'nsswitch.conf',
  'os-release',
  'passwd',
  'pki',
  'protocols',
  'resolv.conf',
  'services',
  'ssl',
  'timezone',
]);

function etcEntries(): string[] {
  try {
    return readdirSync('/etc')
      .filter((name) => ETC_ENTRIES.has(name) || /^python3/.test(name))
      .map((name) => `/etc/${name}`);
  } catch {
    return [];
  }
}

/** `--symlink` for /bin → usr/bin style links (merged /usr), `--ro-bind` for real directories. */
function systemDirArgs(): string[] {
  const args: string[] = [];
  for (const dir of SYSTEM_DIRS) {
    try {
      const st = lstatSync(dir);
      if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
      else if (st.isDirectory()) args.push('--ro-bind', dir, dir);
    } catch {
      // absent on this distribution
    }
  }
  return args;
}

export interface BwrapLayout {
  /** Host code directory: read-only at `/code`, the working directory (never under `/tmp`, which each call empties). */
  codeDir: string;
  /** Host output directory: writable at `/output`. */
  outputDir: string;
  /** Host per-run temp directory: writable at `/tmp` (disk-backed, unlike a tmpfs that would eat RAM uncounted). */
  tmpDir: string;
  network: NetworkPolicy;
  /** More host paths bound read-only at the same path. */
  extraReadOnly: readonly string[];
}

/** Where the code directory appears inside bubblewrap, as in a container. */
export const BWRAP_CODE_DIR = '/code';
/** Where the output directory appears inside bubblewrap. */
export const BWRAP_OUTPUT_DIR = '/output';
/** Where the per-run temp directory (also HOME) appears inside bubblewrap. */
export const BWRAP_TMP_DIR = '/tmp';

/**
 * bubblewrap arguments (before `--` and the command): every namespace
 * unshared, the network too unless the policy allows it, a root made of
 * read-only system binds plus the run's own directories.
 */
export function bwrapArgs(layout: BwrapLayout): string[] {
  const args = ['--unshare-all', '--die-with-parent', '--new-session'];
  // 'ai' shares the host network whole: a process sandbox cannot narrow it to one host.
  if (layout.network !== 'none') args.push('--share-net');
  args.push(...systemDirArgs());
  for (const path of etcEntries()) args.push('--ro-bind-try', path, path);
  for (const path of layout.extraReadOnly) args.push('--ro-bind-try', path, path);
  args.push('--proc', '/proc', '--dev', '/dev');
  args.push('--bind', layout.tmpDir, BWRAP_TMP_DIR);
  args.push('--ro-bind', layout.codeDir, BWRAP_CODE_DIR);
  args.push('--bind', layout.outputDir, BWRAP_OUTPUT_DIR);
  args.push('--chdir', BWRAP_CODE_DIR);
  return args;
}

/**
 * Runs `true` in a minimal bubblewrap to learn whether it works here
 * (user namespaces may be off, e.g. in an unprivileged container).
 */
export function probeBwrap(bwrapPath: string): { ok: true } | { ok: false; reason: string } {
  const truePath = findExecutable('true', ['/usr/bin', '/bin']);
  if (!truePath) return { ok: false, reason: 'no `true` binary to probe with' };
  const res = spawnSync(
    bwrapPath,
    ['--unshare-all', '--die-with-parent', ...systemDirArgs(), '--proc', '/proc', '--dev', '/dev', '--', truePath],
    {
      encoding: 'utf8',
      timeout: 10_000,
    },
  );
  if (res.status === 0) return { ok: true };
  return { ok: false, reason: (res.error?.message ?? res.stderr?.trim()) || `exit ${res.status ?? res.signal}` };
}

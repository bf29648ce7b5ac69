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
  /** Host code directory: read-only at `/code`, the working directory. */
  codeDir: string;
  /** Size of the tmpfs holding `/tmp` and `/output` (a write past it fails with ENOSPC). */
  diskBytes: number;
  network: NetworkPolicy;
  /** More host paths bound read-only at the same path. */
  extraReadOnly: readonly string[];
  /** The run's environment, set inside only (`--setenv`): bubblewrap itself starts with an empty one. */
  env: Record<string, string>;
}

/** Where the code directory appears inside bubblewrap, as in a container. */
export const BWRAP_CODE_DIR = '/code';
/**
 * The run's own tmpfs, of the run's disk quota, holding its temp and output
 * directories, so one quota covers both. It lives in the run's mount
 * namespace only: the host reads outputs through `/proc/<pid>/root`.
 */
export const BWRAP_DISK_DIR = '/run/nanogrid';
/**
 * The output directory inside bubblewrap (`OUTPUT_DIR`); `/output` links to it.
 * The variables name the real directories: a server that empties them
 * without following links (nftw FTW_PHYS) still empties them.
 */
export const BWRAP_OUTPUT_DIR = `${BWRAP_DISK_DIR}/output`;
/** The per-run temp directory (`TMPDIR`, also HOME); `/tmp` links to it. */
export const BWRAP_TMP_DIR = `${BWRAP_DISK_DIR}/tmp`;
/** /dev/shm (POSIX shared memory, semaphores) is a tmpfs of its own, this size, as Docker's default. */
const SHM_BYTES = 64 * 1024 * 1024;
/** The uid and gid a run has inside (nobody): never root, even when the host runs as root. */
export const BWRAP_UID = 65534;

/** The run's output directory seen from the host, through the root of a process inside (bwrap's child). */
export function bwrapOutputsFromHost(childPid: number): string {
  return `/proc/${childPid}/root${BWRAP_OUTPUT_DIR}`;
}

/** The run's tmpfs seen from the host (statfs there tells how much of the quota, and of RAM, it uses). */
export function bwrapDiskFromHost(childPid: number): string {
  return `/proc/${childPid}/root${BWRAP_DISK_DIR}`;
}

/** Namespaces and privileges: the same for a run and for the probe, so the probe fails when a run would. */
const CONFINEMENT = [
  '--unshare-all',
  '--unshare-user',
  '--uid',
  String(BWRAP_UID),
  '--gid',
  String(BWRAP_UID),
  '--disable-userns',
  '--cap-drop',
  'ALL',
  '--die-with-parent',
];

/**
 * bubblewrap arguments (before `--` and the command): every namespace
 * unshared (a user namespace too, so no capability and a non-root uid inside,
 * and no nested user namespace that could give them back), the network too
 * unless the policy allows it, a root made of read-only system binds plus the
 * code, and a tmpfs of the quota's size for `/tmp` and `/output`. bubblewrap
 * sets no_new_privs itself.
 */
export function bwrapArgs(layout: BwrapLayout): string[] {
  const args = [...CONFINEMENT, '--new-session'];
  // 'ai' shares the host network whole: a process sandbox cannot narrow it to one host.
  if (layout.network !== 'none') args.push('--share-net');
  args.push(...systemDirArgs());
  for (const path of etcEntries()) args.push('--ro-bind-try', path, path);
  for (const path of layout.extraReadOnly) args.push('--ro-bind-try', path, path);
  // /dev is a tmpfs bubblewrap fills with device nodes: read-only but for a bounded /dev/shm (nodes stay usable).
  args.push(
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--size',
    String(SHM_BYTES),
    '--tmpfs',
    '/dev/shm',
    '--remount-ro',
    '/dev',
  );
  args.push('--size', String(layout.diskBytes), '--tmpfs', BWRAP_DISK_DIR);
  args.push('--dir', BWRAP_TMP_DIR, '--dir', BWRAP_OUTPUT_DIR);
  args.push('--symlink', BWRAP_TMP_DIR, '/tmp', '--symlink', BWRAP_OUTPUT_DIR, '/output');
  args.push('--ro-bind', layout.codeDir, BWRAP_CODE_DIR);
  // The root is bubblewrap's own tmpfs, without a size: read-only, so the quota's tmpfs is the only place to write.
  args.push('--remount-ro', '/');
  args.push('--chdir', BWRAP_CODE_DIR);
  for (const [k, v] of Object.entries(layout.env)) args.push('--setenv', k, v);
  return args;
}

/** bubblewrap's arguments as the NUL-separated block `--args FD` reads: never on a command line that `ps` shows. */
export function argsBlock(args: readonly string[]): Buffer {
  return Buffer.from(args.map((a) => `${a}\0`).join(''));
}

/**
 * Runs `true` in a minimal bubblewrap to learn whether it works here
 * with the confinement runs get (user namespaces may be off, e.g. in an
 * unprivileged container; bubblewrap before 0.8 lacks `--disable-userns`).
 */
export function probeBwrap(bwrapPath: string): { ok: true } | { ok: false; reason: string } {
  const truePath = findExecutable('true', ['/usr/bin', '/bin']);
  if (!truePath) return { ok: false, reason: 'no `true` binary to probe with' };
  const res = spawnSync(
    bwrapPath,
    [
      ...CONFINEMENT,
      ...systemDirArgs(),
      '--size',
      '1048576',
      '--tmpfs',
      BWRAP_DISK_DIR,
      '--proc',
      '/proc',
      '--dev',
      '/dev',
      '--',
      truePath,
    ],
    {
      encoding: 'utf8',
      env: {},
      timeout: 10_000,
    },
  );
  if (res.status === 0) return { ok: true };
  return { ok: false, reason: (res.error?.message ?? res.stderr?.trim()) || `exit ${res.status ?? res.signal}` };
}

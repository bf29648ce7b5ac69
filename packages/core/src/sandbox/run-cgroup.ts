import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Where this worker may make per-run cgroups (cgroup v1 controllers, under its own cgroup). */
export interface CgroupRoots {
  memory?: string;
  pids?: string;
}

/** One run's (or warm instance's) cgroups: a hard memory limit and a pids limit the kernel enforces. */
export interface RunCgroup {
  /** The `cgroup.procs` files a process joins before it execs the run (the wrapper's `echo $$`). */
  procs: string[];
  /** Processes the kernel killed for memory in this cgroup so far. */
  oomKills(): number;
  /** The cgroup's memory high-water mark, bytes (page cache included: read it only after an OOM kill). */
  peakBytes(): number;
  /** Removes the cgroups (retried briefly while the last processes are reaped). Never throws. */
  remove(): Promise<void>;
}

/**
 * The cgroup v1 memory and pids hierarchies this process may make children
 * in: its own cgroup of each (so the runs stay inside whatever limits the
 * worker itself has), probed by making and removing one. Undefined when
 * neither works (not root, cgroup v2 only, no /sys/fs/cgroup).
 */
export function probeCgroupRoots(): CgroupRoots | undefined {
  let own: string;
  try {
    own = readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return undefined;
  }
  const roots: CgroupRoots = {};
  for (const controller of ['memory', 'pids'] as const) {
    const line = own.split('\n').find((l) => l.split(':')[1]?.split(',').includes(controller));
    const path = line?.split(':')[2];
    if (path === undefined) continue;
    const root = join('/sys/fs/cgroup', controller, path);
    const probe = join(root, `nanogrid-probe-${process.pid}`);
    try {
      mkdirSync(probe);
      rmdirSync(probe);
      roots[controller] = root;
    } catch {
      // not writable here
    }
  }
  return roots.memory || roots.pids ? roots : undefined;
}

/** Makes the cgroups of one run; undefined when they cannot be made (the run goes on without). */
export function createRunCgroup(
  roots: CgroupRoots,
  name: string,
  limits: { memoryBytes: number; pids: number },
): RunCgroup | undefined {
  const dirs: string[] = [];
  try {
    if (roots.memory) {
      const dir = join(roots.memory, name);
      mkdirSync(dir);
      dirs.push(dir);
      if (limits.memoryBytes > 0) writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    }
    if (roots.pids) {
      const dir = join(roots.pids, name);
      mkdirSync(dir);
      dirs.push(dir);
      writeFileSync(join(dir, 'pids.max'), String(limits.pids));
    }
  } catch {
    for (const dir of dirs) rmdirQuiet(dir);
    return undefined;
  }
  const memoryDir = roots.memory ? join(roots.memory, name) : undefined;
  return {
    procs: dirs.map((d) => join(d, 'cgroup.procs')),
    oomKills() {
      if (!memoryDir) return 0;
      try {
        const m = /^oom_kill (\d+)$/m.exec(readFileSync(join(memoryDir, 'memory.oom_control'), 'utf8'));
        return m ? Number(m[1]) : 0;
      } catch {
        return 0;
      }
    },
    peakBytes() {
      if (!memoryDir) return 0;
      try {
        return Number(readFileSync(join(memoryDir, 'memory.max_usage_in_bytes'), 'utf8')) || 0;
      } catch {
        return 0;
      }
    },
    async remove() {
      for (const dir of dirs) {
        for (let i = 0; i < 20; i++) {
          const ok = await rmdir(dir).then(
            () => true,
            (err: NodeJS.ErrnoException) => err.code === 'ENOENT',
          );
          if (ok) break;
          await sleep(50); // EBUSY: the last processes are still being reaped
        }
      }
    },
  };
}

function rmdirQuiet(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // already gone
  }
}

/**
 * Wraps a command so it joins the cgroups before anything of the run starts:
 * a shell writes its own pid into each `cgroup.procs`, then execs the command
 * (open descriptors pass through). Every process the run starts inherits them.
 */
export function joinCgroups(
  procs: readonly string[],
  file: string,
  args: readonly string[],
): { file: string; args: string[] } {
  const script = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"';
  return { file: '/bin/sh', args: ['-c', script, 'sh', String(procs.length), ...procs, file, ...args] };
}

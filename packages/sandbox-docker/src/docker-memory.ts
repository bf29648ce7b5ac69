import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { readdir, readFile, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type Dockerode from 'dockerode';

/**
 * Peak memory of a run. A container's own cgroup disappears the moment it
 * exits, so each run gets a parent cgroup `/nanogrid/<runId>` (Docker's
 * `CgroupParent`): the parent outlives the container, and its high-water mark
 * (`memory.max_usage_in_bytes` on cgroup v1, `memory.peak` on v2) covers the
 * container's whole life, the last allocation before an OOM kill included.
 * This needs a local engine with the cgroupfs driver; otherwise the stats
 * API is polled while the container runs (a best effort that can miss a
 * short spike or a very short run).
 */
export interface CgroupPeakSupport {
  version: 1 | 2;
  /** Mount point of the cgroup hierarchies. */
  root: string;
}

const GROUP = 'nanogrid';

/** `CgroupParent` for one run. */
export function runCgroupParent(runId: string): string {
  return `/${GROUP}/${runId}`;
}

/** How this engine's cgroups can be read from here, or undefined when they cannot. */
export async function detectCgroupPeak(docker: Dockerode, root: string): Promise<CgroupPeakSupport | undefined> {
  try {
    const info = (await docker.info()) as { CgroupDriver?: string; CgroupVersion?: string };
    // The systemd driver only accepts `*.slice` parents; leave it alone.
    if (info.CgroupDriver !== 'cgroupfs') return undefined;
    if (info.CgroupVersion === '2') {
      await stat(path.join(root, 'cgroup.controllers'));
      return { version: 2, root };
    }
    await stat(path.join(root, 'memory', 'memory.max_usage_in_bytes'));
    return { version: 1, root };
  } catch {
    return undefined;
  }
}

/**
 * The run's parent cgroup in `controller`'s hierarchy: `<root>/<controller>/nanogrid/<runId>` (cgroup v1) or
 * `<root>/nanogrid/<runId>` (v2, one hierarchy: `controller` is not part of it).
 */
export function runCgroupDir(support: CgroupPeakSupport, runId: string, controller: string): string {
  return support.version === 1
    ? path.join(support.root, controller, GROUP, runId)
    : path.join(support.root, GROUP, runId);
}

/** The file holding the run's memory high-water mark. */
const peakFile = (support: CgroupPeakSupport, runId: string): string =>
  path.join(
    runCgroupDir(support, runId, 'memory'),
    support.version === 1 ? 'memory.max_usage_in_bytes' : 'memory.peak',
  );

/** High-water mark of the run's parent cgroup, bytes; undefined when unreadable. */
export async function readCgroupPeak(support: CgroupPeakSupport, runId: string): Promise<number | undefined> {
  const file = peakFile(support, runId);
  try {
    const value = Number((await readFile(file, 'utf8')).trim());
    return Number.isFinite(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The high-water mark of a warm instance, call by call: `reset()` before a
 * call, `read()` after it. cgroup v1 resets `memory.max_usage_in_bytes` to
 * the current usage; cgroup v2 (Linux ≥ 6.12) resets `memory.peak` for the
 * open file, which is then read back. The mark covers the whole container,
 * the loaded runtime included, like a cold run's. One file descriptor per
 * instance, synchronous calls: cgroup files answer in microseconds, while the
 * thread pool would cost a round trip per call on the hot path.
 */
export interface PeakMeter {
  reset(): void;
  /** Bytes, or undefined when unreadable. */
  read(): number | undefined;
  close(): void;
}

export function openPeakMeter(support: CgroupPeakSupport, runId: string): PeakMeter | undefined {
  const file = peakFile(support, runId);
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r+');
  } catch {
    return undefined;
  }
  const buf = Buffer.alloc(32);
  const resetText = support.version === 1 ? '0' : 'reset\n';
  // Once closed, the number is forgotten: the kernel hands it to the next file the host opens (a call still in
  // flight when its instance is destroyed reads the meter after the close), which must not be read, written or
  // closed through it.
  return {
    reset() {
      if (fd === undefined) return;
      try {
        writeSync(fd, resetText, 0);
      } catch {
        // the container is gone: read() says so
      }
    },
    read() {
      if (fd === undefined) return undefined;
      try {
        const n = readSync(fd, buf, 0, buf.length, 0);
        const value = Number(buf.toString('utf8', 0, n).trim());
        return Number.isFinite(value) && value > 0 ? value : undefined;
      } catch {
        return undefined;
      }
    },
    close() {
      if (fd === undefined) return;
      const open = fd;
      fd = undefined;
      try {
        closeSync(open);
      } catch {
        // already closed
      }
    },
  };
}

/** Removes the run's (now empty) parent cgroup from every hierarchy. Never throws. */
export async function removeRunCgroups(root: string, runId: string): Promise<void> {
  const dirs = [path.join(root, GROUP, runId)];
  try {
    for (const entry of await readdir(root)) dirs.push(path.join(root, entry, GROUP, runId));
  } catch {
    return;
  }
  await Promise.all(dirs.map((dir) => rmdir(dir).catch(() => undefined)));
}

/**
 * Removes run cgroups under `/nanogrid` left by a worker that crashed. Runs
 * in `keep` (their containers still exist: a run between exit and reading
 * its peak) are left alone; a cgroup still in use is not empty, and rmdir
 * refuses it anyway.
 */
export async function removeStaleRunCgroups(root: string, keep: ReadonlySet<string>): Promise<number> {
  let removed = 0;
  let hierarchies: string[];
  try {
    hierarchies = ['.', ...(await readdir(root))];
  } catch {
    return 0;
  }
  for (const h of hierarchies) {
    const base = path.join(root, h, GROUP);
    let runs: string[];
    try {
      runs = (await readdir(base, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      continue;
    }
    for (const run of runs) {
      if (keep.has(run)) continue;
      try {
        await rmdir(path.join(base, run));
        removed++;
      } catch {
        // In use or already gone.
      }
    }
  }
  return removed;
}

/** Polls the stats API while a container runs; `stop()` gives the highest usage seen. */
export function pollStatsPeak(
  container: Dockerode.Container,
  intervalMs = 250,
): { stop(): Promise<number | undefined> } {
  let peak: number | undefined;
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();
  const sample = async () => {
    try {
      const s = (await container.stats({ stream: false, 'one-shot': true })) as {
        memory_stats?: { max_usage?: number; usage?: number };
      };
      const v = s.memory_stats?.max_usage ?? s.memory_stats?.usage;
      if (typeof v === 'number' && v > 0) peak = Math.max(peak ?? 0, v);
    } catch {
      // The container may have exited between two samples.
    }
  };
  const timer = setInterval(() => {
    if (!stopped) inFlight = sample();
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inFlight;
      return peak;
    },
  };
}

/** CPU time the run's parent cgroup has used so far, ms (sync: the idle watchdog reads it often); undefined when unreadable. */
export function readCgroupCpuMs(support: CgroupPeakSupport, runId: string): number | undefined {
  try {
    if (support.version === 1) {
      const ns = Number(readFileSync(path.join(runCgroupDir(support, runId, 'cpuacct'), 'cpuacct.usage'), 'utf8'));
      return Number.isFinite(ns) ? ns / 1e6 : undefined;
    }
    const stat = readFileSync(path.join(runCgroupDir(support, runId, 'cpu'), 'cpu.stat'), 'utf8');
    const usec = Number(/^usage_usec (\d+)/m.exec(stat)?.[1]);
    return Number.isFinite(usec) ? usec / 1000 : undefined;
  } catch {
    return undefined;
  }
}

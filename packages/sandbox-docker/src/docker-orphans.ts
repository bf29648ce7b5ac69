import { readFileSync } from 'node:fs';
import type Dockerode from 'dockerode';

/** Labels every sandbox container carries; orphan clean-up keys on them. */
export const LABEL = {
  marker: 'nanogrid',
  worker: 'nanogrid.worker',
  host: 'nanogrid.host',
  pid: 'nanogrid.pid',
  run: 'nanogrid.run',
} as const;

export interface CleanupOrphansOptions {
  /** Remove every NanoGrid container on the engine, live workers' too. @default false */
  all?: boolean;
  /**
   * Also remove containers older than this (ms): no run outlives the longest
   * function timeout, so a worker passes that plus a margin. @default undefined (no age rule)
   */
  olderThanMs?: number;
}

export interface OrphanContext {
  workerId: string;
  hostname: string;
  pid: number;
  /** When this sandbox was made (ms): a container of the same worker id from before is a leftover. */
  startedAt: number;
}

/** What the orphan rules look at. */
export interface OrphanCandidate {
  labels: Record<string, string>;
  /** Creation time, ms. */
  createdMs: number;
}

/**
 * Whether a process of this host exists (signal 0). Linux also answers signal 0
 * for a thread id, and thread ids share the pid space: a dead worker's pid is
 * often a thread of a live process (always so in a container, where pids stay
 * small), so a number whose /proc entry names another thread group is no process.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return true; // no /proc (not Linux), or it just ended: the signal said it exists
  }
  const tgid = /^Tgid:\s*(\d+)/m.exec(status)?.[1];
  return tgid === undefined || Number(tgid) === pid;
}

/**
 * Is this container left behind by a worker that is gone? Yes when asked for
 * all; when it carries this worker's id but predates this sandbox (a worker
 * restarted under a stable id); when it was started on this host by a process
 * that no longer exists; or when it is older than `olderThanMs`.
 */
export function isOrphan(
  container: OrphanCandidate,
  ctx: OrphanContext,
  opts: CleanupOrphansOptions,
  now = Date.now(),
): boolean {
  const { labels, createdMs } = container;
  if (labels[LABEL.marker] !== '1') return false;
  if (opts.all) return true;
  if (opts.olderThanMs !== undefined && now - createdMs > opts.olderThanMs) return true;
  if (labels[LABEL.worker] === ctx.workerId) return createdMs < ctx.startedAt;
  const pid = Number(labels[LABEL.pid]);
  if (labels[LABEL.host] === ctx.hostname && Number.isInteger(pid) && pid > 0 && pid !== ctx.pid) return !pidAlive(pid);
  return false;
}

/**
 * Removes the orphaned NanoGrid containers (and their anonymous volumes).
 * Returns how many, and the run ids of the containers that stay.
 */
export async function removeOrphanContainers(
  docker: Dockerode,
  ctx: OrphanContext,
  opts: CleanupOrphansOptions = {},
): Promise<{ removed: number; liveRuns: Set<string> }> {
  const list = await docker.listContainers({
    all: true,
    filters: JSON.stringify({ label: [`${LABEL.marker}=1`] }),
  } as object);
  let removed = 0;
  const liveRuns = new Set<string>();
  for (const info of list) {
    const labels = info.Labels ?? {};
    let createdMs = info.Created * 1000;
    // The list gives whole seconds; this worker's own id needs the exact time to tell old from new.
    if (labels[LABEL.worker] === ctx.workerId) {
      const created = await docker
        .getContainer(info.Id)
        .inspect()
        .then((c) => Date.parse(c.Created))
        .catch(() => Number.NaN);
      if (Number.isNaN(created)) continue;
      createdMs = created;
    }
    if (!isOrphan({ labels, createdMs }, ctx, opts)) {
      const run = labels[LABEL.run];
      if (run) liveRuns.add(run);
      continue;
    }
    try {
      await docker.getContainer(info.Id).remove({ force: true, v: true });
      removed++;
    } catch (err) {
      // 404: another worker removed it meanwhile; 409: removal already in progress.
      const status = (err as { statusCode?: number }).statusCode;
      if (status !== 404 && status !== 409) throw err;
    }
  }
  return { removed, liveRuns };
}

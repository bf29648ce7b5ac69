import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type CgroupPeakSupport, runCgroupDir } from './docker-memory.js';

/** The limits a prewarmed spare takes from the function that claims it (absent: unchanged). */
export interface InstanceLimits {
  /** Memory limit, bytes; no swap on top (the spare was created with swap = memory). */
  memoryBytes?: number;
  /** CPU quota, billionths of a CPU (Docker's NanoCpus). */
  nanoCpus?: number;
}

/** A container id as the engine gives it: nothing that could step out of the cgroup directory. */
const CONTAINER_ID = /^[0-9a-f]{12,64}$/;
const RUN_ID = /^[0-9a-f]{1,64}$/;

const readNumber = (file: string): number => Number(readFileSync(file, 'utf8').trim().split(/\s+/)[0]);

/**
 * Sets a running container's limits in its own cgroup, where the kernel enforces them, without the engine: an
 * engine `update` takes 12-22 ms (measured), most of a prewarmed spare's first call, while these writes take
 * microseconds. Docker's cgroupfs driver puts a container with parent `/nanogrid/<runId>` at
 * `<root>/<controller>/nanogrid/<runId>/<id>` (cgroup v1) or `<root>/nanogrid/<runId>/<id>` (v2).
 * False when a file could not be read or written (another layout, a gone container): the caller asks the engine,
 * which writes every limit again. The engine's own record still names the old limits until it is updated too.
 */
export function writeCgroupLimits(
  support: CgroupPeakSupport,
  runId: string,
  containerId: string,
  limits: InstanceLimits,
): boolean {
  if (!CONTAINER_ID.test(containerId) || !RUN_ID.test(runId)) return false;
  const dir = (controller: string): string => path.join(runCgroupDir(support, runId, controller), containerId);
  try {
    if (limits.memoryBytes !== undefined) {
      const bytes = String(limits.memoryBytes);
      if (support.version === 2) writeFileSync(path.join(dir(''), 'memory.max'), bytes);
      else {
        const memory = dir('memory');
        // Memory + swap may never be under memory alone: raised, it goes first; lowered, it goes last.
        const raising = limits.memoryBytes > readNumber(path.join(memory, 'memory.limit_in_bytes'));
        const withSwap = path.join(memory, 'memory.memsw.limit_in_bytes');
        const swapAccounted = (() => {
          try {
            readNumber(withSwap);
            return true;
          } catch {
            return false; // the kernel does not account swap: the engine did not set it either
          }
        })();
        if (raising && swapAccounted) writeFileSync(withSwap, bytes);
        writeFileSync(path.join(memory, 'memory.limit_in_bytes'), bytes);
        if (!raising && swapAccounted) writeFileSync(withSwap, bytes);
      }
    }
    if (limits.nanoCpus !== undefined) {
      if (support.version === 2) {
        const file = path.join(dir(''), 'cpu.max');
        const period = Number(readFileSync(file, 'utf8').trim().split(/\s+/)[1]) || 100_000;
        writeFileSync(file, `${Math.round((limits.nanoCpus * period) / 1e9)} ${period}`);
      } else {
        const cpu = dir('cpu');
        const period = readNumber(path.join(cpu, 'cpu.cfs_period_us')) || 100_000;
        writeFileSync(path.join(cpu, 'cpu.cfs_quota_us'), String(Math.round((limits.nanoCpus * period) / 1e9)));
      }
    }
    return true;
  } catch {
    return false;
  }
}

import type { Role } from '../config.js';

/** What a host says about itself in its presence heartbeat (`GET /system` lists them). */
export interface HostInfo {
  /** Unique per process: the worker id, or `{hostname}:{pid}` with a random suffix. */
  id: string;
  role: Role;
  hostname: string;
  pid: number;
  /** ISO time the process started. */
  started_at: string;
  /** ISO time of its last heartbeat. */
  last_seen: string;
  /** NanoGrid version it runs. */
  version: string;
  /** Its sandbox (`none` for a controller that runs no code). */
  sandbox: { name: string; isolated: boolean };
  /** Jobs running on it now (workers). */
  in_flight?: number;
  /** Jobs it may run at once now (workers). */
  concurrency?: number;
  /** Worker capacity its autoscaling policy wants. */
  desired_workers?: number;
}

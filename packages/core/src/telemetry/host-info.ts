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
  /** Its sandbox (`none` for a controller that runs no code) and the sandbox's check at this beat. */
  sandbox: SandboxHealth;
  /** Jobs running on it now (workers). */
  in_flight?: number;
  /** Jobs it may run at once now (workers). */
  concurrency?: number;
  /** Worker capacity its autoscaling policy wants. */
  desired_workers?: number;
}

/** A sandbox as `GET /system` shows it: `failing` when its check (the Docker engine's ping) failed. */
export interface SandboxHealth {
  name: string;
  isolated: boolean;
  /** Absent on entries of hosts that did not check (a controller without a sandbox). */
  status?: 'ok' | 'failing';
  error?: { code: string; message: string };
}

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { HostPresence, type NanoGrid, type SandboxHealth, probe } from '@nanogrid/core';
import type { SystemSource } from './http/system-routes.js';

let cachedVersion: string | undefined;

/** The version of @nanogrid/host this process runs. */
export function hostVersion(): string {
  cachedVersion ??= (
    JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version;
  return cachedVersion;
}

export interface HostTelemetry {
  /** Heartbeats this host into the result store; started and stopped by the host. */
  presence: HostPresence;
  /** What `GET /system` reads. */
  system: SystemSource;
}

/**
 * This process's presence heartbeat and `GET /system` source. The id is the
 * worker's id (or host:pid) plus a random suffix: two hosts in one process
 * (tests) or a restarted process never share an entry.
 */
export function hostTelemetry(
  nanogrid: NanoGrid,
  opts: { intervalMs?: number; startedAt?: Date; healthCacheMs?: number } = {},
): HostTelemetry {
  const startedAt = opts.startedAt ?? new Date();
  const worker = nanogrid.worker;
  const base = worker?.options.id ?? `${hostname()}:${process.pid}`;
  const hostId = `${base}/${randomBytes(3).toString('hex')}`;
  const version = hostVersion();
  const sandbox = nanogrid.sandbox;
  // A host that runs code checks its sandbox at each beat, so a controller without one can show the workers'.
  const sandboxHealth = async (): Promise<SandboxHealth> => {
    const base = { name: sandbox.name, isolated: sandbox.isolated };
    if (sandbox.name === 'none') return base;
    if (!sandbox.check) return { ...base, status: 'ok' };
    const r = await probe(() => sandbox.check?.() ?? Promise.resolve(), 2000, sandbox.name);
    return r.status === 'ok' ? { ...base, status: 'ok' } : { ...base, status: 'failing', error: r.error };
  };
  const presence = new HostPresence(
    nanogrid.results,
    async () => ({
      id: hostId,
      role: nanogrid.role,
      hostname: hostname(),
      pid: process.pid,
      started_at: startedAt.toISOString(),
      version,
      sandbox: await sandboxHealth(),
      ...(worker ? { in_flight: worker.inFlight, concurrency: worker.concurrency } : {}),
      desired_workers: nanogrid.autoscaler.policy.desired,
    }),
    nanogrid.logger,
    opts.intervalMs !== undefined ? { intervalMs: opts.intervalMs } : {},
  );
  return {
    presence,
    system: {
      results: nanogrid.results,
      queue: nanogrid.queue,
      storage: nanogrid.storage,
      sandbox: nanogrid.sandbox,
      sandboxHealth,
      desiredWorkers: () => nanogrid.autoscaler.policy.desired,
      hostId,
      role: nanogrid.role,
      startedAt,
      version,
      ...(opts.healthCacheMs !== undefined ? { healthCacheMs: opts.healthCacheMs } : {}),
    },
  };
}

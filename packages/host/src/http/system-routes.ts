import {
  type HostInfo,
  NanoGridError,
  type QueueSource,
  type ResultSink,
  type Role,
  type Sandbox,
  type SandboxHealth,
  type StorageBackend,
  liveHosts,
  probe,
} from '@nanogrid/core';
import type { SystemInfo } from '@nanogrid/client';
import type { Hono } from 'hono';

/** What `GET /system` reads: the shared backends, and this process's own facts. */
export interface SystemSource {
  /** Holds the presence heartbeats of every host. */
  results: ResultSink;
  queue: QueueSource;
  storage: StorageBackend;
  /** This host's sandbox (`none` on a controller that runs no code). */
  sandbox: Pick<Sandbox, 'name' | 'isolated'>;
  /** Checks this host's sandbox now (absent: shown without a status). */
  sandboxHealth?(): Promise<SandboxHealth>;
  /** Worker capacity this host's autoscaling policy wants now. */
  desiredWorkers(): number;
  /** This process's presence id, role and start. */
  hostId: string;
  role: Role;
  startedAt: Date;
  version: string;
  /** A backend's `check()` slower than this counts as failing, ms. @default 2000 */
  checkTimeoutMs?: number;
  /**
   * Checks of the backends and the sandbox are shared by the requests of this long, ms: a page
   * polling every few seconds (or many at once) does not turn into a HeadBucket per request. @default 5000
   */
  healthCacheMs?: number;
}

export interface BackendHealth {
  role: 'queue' | 'results' | 'storage';
  name: string;
  status: 'ok' | 'failing';
  latency_ms?: number;
  error?: { code: string; message: string };
}

/** Key read by the probe of a plugin without `check()`: an answer (found or not) proves the backend answers. */
const PROBE_KEY = 'nanogrid-health-probe';

/** The plugin's `check()`, or a read that costs one round trip; slower than `timeoutMs` counts as failing. */
async function health(
  role: BackendHealth['role'],
  name: string,
  check: () => Promise<unknown>,
  timeoutMs: number,
): Promise<BackendHealth> {
  return { role, name, ...(await probe(check, timeoutMs, name)) };
}

/** This host's sandbox and the three backends, checked at once (each probe settles, never rejects). */
function checkAll(source: SystemSource): Promise<[SandboxHealth | undefined, BackendHealth[]]> {
  const t = source.checkTimeoutMs ?? 2000;
  const { queue, results, storage } = source;
  return Promise.all([
    source.sandbox.name === 'none' || !source.sandboxHealth
      ? undefined
      : orElse(source.sandboxHealth(), { name: source.sandbox.name, isolated: source.sandbox.isolated }),
    Promise.all([
      health('queue', queue.name, () => (queue.check ? queue.check() : queue.depth()), t),
      health('results', results.name, () => (results.check ? results.check() : results.get(PROBE_KEY)), t),
      health('storage', storage.name, () => (storage.check ? storage.check() : storage.head(PROBE_KEY)), t),
    ]),
  ]);
}

/** Settles to a fallback instead of failing: one backend down must not hide the rest of the view. */
const orElse = <T>(p: Promise<T>, fallback: T): Promise<T> => p.catch(() => fallback);

/** `GET /system`: hosts seen (from their heartbeats), queue depth, desired workers, sandbox, backends' health. */
export function systemRoutes(app: Hono, source: SystemSource | undefined): void {
  let checked: { at: number; value: ReturnType<typeof checkAll> } | undefined;
  app.get('/system', async (c) => {
    if (!source)
      throw new NanoGridError(
        'BAD_REQUEST',
        'this controller was created without a system source (createController({ system }))',
      );
    const now = Date.now();
    if (!checked || now - checked.at >= (source.healthCacheMs ?? 5000)) checked = { at: now, value: checkAll(source) };
    const [hosts, depth, [ownSandbox, backends]] = await Promise.all([
      orElse(liveHosts(source.results), undefined as HostInfo[] | undefined),
      orElse(source.queue.depth(), null as number | null),
      checked.value,
    ]);
    const seen = hosts ?? [];
    const body: SystemInfo = {
      now: new Date().toISOString(),
      host: {
        id: source.hostId,
        role: source.role,
        version: source.version,
        started_at: source.startedAt.toISOString(),
        uptime_s: Math.floor((Date.now() - source.startedAt.getTime()) / 1000),
      },
      presence: hosts === undefined ? 'failing' : source.results.hosts ? 'ok' : 'unsupported',
      controllers: seen.filter((h) => h.role !== 'worker'),
      workers: seen.filter((h) => h.role !== 'controller'),
      queue: { name: source.queue.name, depth },
      desired_workers: source.desiredWorkers(),
      // A controller that runs no code shows the sandbox its workers run jobs in, as they last checked it.
      sandbox:
        source.sandbox.name === 'none'
          ? (seen.find((h) => h.role !== 'controller')?.sandbox ?? { name: 'none', isolated: true })
          : (ownSandbox ?? { name: source.sandbox.name, isolated: source.sandbox.isolated }),
      backends,
    };
    return c.json(body);
  });
}

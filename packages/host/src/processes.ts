import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { type Logger, type NanoGridConfig, NanoGridError, consoleLogger } from '@nanogrid/core';
import { loadConfig } from './config/load-config.js';
import { type StartHostOptions, startHost } from './start-host.js';

/** What the primary tells each process to start: `startHost`'s options that survive a fork. */
export interface ProcessStartOptions
  extends Pick<StartHostOptions, 'configPath' | 'role' | 'port' | 'hostname' | 'cwd'> {}

/** The environment variable a host process reads its options from. */
export const PROCESS_OPTIONS_ENV = 'NANOGRID_PROCESS_OPTIONS';

/** `processes` as a count: `'auto'` is one per core. */
export function processCount(value: number | 'auto' | undefined): number {
  if (value === undefined) return 1;
  return value === 'auto' ? availableParallelism() : value;
}

/** More host processes than this per core are refused: each is a whole host, and past one per core they only add scheduling. */
export const MAX_PROCESSES_PER_CORE = 4;

/**
 * Why `processes` host processes are too many for a machine of `cores` cores, or undefined. A typo such as
 * 1000 would otherwise fork a thousand hosts (tens of GB of memory) before anything is served.
 */
export function processCountProblem(processes: number, cores: number = availableParallelism()): string | undefined {
  const max = MAX_PROCESSES_PER_CORE * Math.max(1, cores);
  if (processes <= max) return undefined;
  return `processes: ${processes} is more than ${MAX_PROCESSES_PER_CORE} per core (this machine has ${cores}, so at most ${max}); a host process per core is what helps (--processes auto)`;
}

/**
 * Why this config cannot run in several processes, or undefined. Each process
 * composes its own backends from the config: they must be shared ones, since
 * the embedded store (a SQLite file with in-process wake-ups, or memory) and
 * the in-memory rate-limit counters belong to one process.
 */
export function sharedStoreProblem(config: NanoGridConfig, role: string, processes: number): string | undefined {
  const where = `processes: ${processes}`;
  const memory = (p: { name: string } | undefined) => p !== undefined && /^memory-/.test(p.name);
  if (role === 'all' && (!config.queue || !config.results))
    return `${where} needs a queue and job records every process shares (e.g. redisQueue and redisResults from @nanogrid/redis): the embedded store is one process's SQLite file or memory`;
  if (memory(config.queue) || memory(config.results))
    return `${where} cannot share an in-memory queue or result store between processes; use shared backends (e.g. @nanogrid/redis)`;
  if (role !== 'worker' && config.http?.rateLimit !== false && !config.http?.rateLimitStore)
    return `${where} with the rate limit on needs a shared http.rateLimitStore (e.g. redisRateLimitStore), or http.rateLimit: false: each process would count apart`;
  return undefined;
}

export interface RunningProcesses {
  url: string;
  role: string;
  processes: number;
  /** Where the dashboard is served (`{url}/ui/`); undefined for a worker or with `http.ui: false`. */
  dashboardUrl: string | undefined;
  /** Stops every process gracefully (each drains as `nanogrid start` does on SIGTERM). */
  close(): Promise<void>;
}

interface Ready {
  type: 'nanogrid:ready';
  url: string;
  role: string;
}

/**
 * The primary of `nanogrid start --processes N`: forks N host processes that
 * share one listening port (node:cluster hands connections out round-robin),
 * waits until each is serving, replaces one that dies, and on SIGTERM/SIGINT
 * asks each to stop gracefully. The processes ignore the signals themselves
 * (a Ctrl-C reaches the whole process group) and stop when the primary says so
 * or goes away.
 */
export async function startProcesses(
  opts: ProcessStartOptions & {
    processes?: number | 'auto';
    logger?: Logger;
    /** Stop gracefully on SIGTERM / SIGINT, then exit (a second signal kills the processes). @default true */
    handleSignals?: boolean;
  },
): Promise<RunningProcesses> {
  const logger = opts.logger ?? consoleLogger();
  const cwd = opts.cwd ?? process.cwd();
  const { config } = await loadConfig({ cwd, ...(opts.configPath ? { configPath: opts.configPath } : {}) });
  const n = processCount(opts.processes ?? config.processes);
  const dashboardUrl = (url: string, role: string) =>
    role !== 'worker' && config.http?.ui !== false ? `${url}/ui/` : undefined;
  if (n === 1) {
    // One process: the host runs here, as without the option (the config's plugins are its own).
    const host = await startHost({ ...opts, cwd, logger });
    return {
      url: host.url,
      role: host.role,
      processes: 1,
      dashboardUrl: dashboardUrl(host.url, host.role),
      close: host.close,
    };
  }
  const role = opts.role ?? config.role ?? 'all';
  const problem = processCountProblem(n) ?? sharedStoreProblem(config, role, n);
  // The primary serves nothing: its copies of the backends are closed (also when refusing, so the CLI exits).
  await Promise.allSettled([config.queue?.close(), config.results?.close(), config.http?.rateLimitStore?.close?.()]);
  if (problem) throw new NanoGridError('CONFIG_INVALID', problem);

  const childOptions: ProcessStartOptions = { ...opts, cwd };
  delete (childOptions as { logger?: unknown }).logger;
  delete (childOptions as { processes?: unknown }).processes;
  delete (childOptions as { handleSignals?: unknown }).handleSignals;
  cluster.setupPrimary({ exec: new URL('./process-main.js', import.meta.url).pathname, args: [] });
  let stopping = false;
  const fork = (): Worker => cluster.fork({ [PROCESS_OPTIONS_ENV]: JSON.stringify(childOptions) });

  const started = await Promise.allSettled(Array.from({ length: n }, () => readyOf(fork())));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
    throw failed.reason;
  }
  const first = (started[0] as PromiseFulfilledResult<Ready>).value;
  // A process that dies while serving is replaced; its in-flight jobs are the queue's to redeliver.
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    logger.warn('a host process died; starting another', { pid: worker.process.pid, code, signal });
    readyOf(fork()).catch((err: Error) => logger.error('a replacement host process failed', { error: err.message }));
  });
  logger.info('host processes serving', { processes: n, url: first.url, role: first.role });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      stopping = true;
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              if (w.isDead()) return resolve();
              w.once('exit', () => resolve());
              w.send({ type: 'nanogrid:shutdown' });
            }),
        ),
      );
    })());
  if (opts.handleSignals ?? true) {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (closing) {
        logger.warn('second signal; killing the host processes', { signal });
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
        process.exit(1);
      }
      logger.info('shutting down the host processes', { signal, processes: n });
      close().then(() => process.exit(0));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  return { url: first.url, role: first.role, processes: n, dashboardUrl: dashboardUrl(first.url, first.role), close };
}

/** Resolves when a forked process reports that it serves; rejects when it exits first. */
function readyOf(worker: Worker): Promise<Ready> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown): void => {
      if ((m as { type?: string })?.type === 'nanogrid:failed') {
        cleanup();
        const { code, message } = m as { code?: string; message: string };
        reject(new NanoGridError((code ?? 'INTERNAL') as 'INTERNAL', `a host process could not start: ${message}`));
      } else if ((m as { type?: string })?.type === 'nanogrid:ready') {
        cleanup();
        resolve(m as Ready);
      }
    };
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup();
      reject(new NanoGridError('INTERNAL', `a host process exited while starting (code ${code}, signal ${signal})`));
    };
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.once('exit', onExit);
  });
}

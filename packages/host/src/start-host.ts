import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import {
  type Logger,
  type NanoGrid,
  type NanoGridConfig,
  type Role,
  type RuntimePlugin,
  NanoGridError,
  ScheduleStore,
  Scheduler,
  composeNanoGrid,
  consoleLogger,
} from '@nanogrid/core';
import { Hono } from 'hono';
import { loadConfig } from './config/load-config.js';
import { validateConfig } from './config/validate-config.js';
import { type MetricsSource, createControllerHttp, metricsHandler } from './create-controller.js';
import type { FastRoute } from './http/fast-run.js';
import { apiKeyAuth } from './http/api-key-auth.js';
import { defaultRuntimes } from './default-runtimes.js';
import { sandboxPicker } from './pick-sandbox.js';
import { withEmbeddedStore } from './embedded-store.js';
import { notFoundHandler, onErrorHandler } from './http/error-response.js';
import { guardRequestBodies } from './guard-request-bodies.js';
import { hostTelemetry } from './host-telemetry.js';
import { removeStaleUploads } from './http/receive-multipart.js';
import { serverTimeouts } from './server-timeouts.js';

export interface StartHostOptions {
  /** Use this config instead of loading a file (still validated). */
  config?: NanoGridConfig;
  /** Config file to load; without it `nanogrid.config.*` is searched in `cwd`. */
  configPath?: string;
  /** Overrides the config's role. */
  role?: Role;
  /** Overrides the config's port; 0 picks a free one. */
  port?: number;
  /** Overrides the config's hostname. */
  hostname?: string;
  /** Base of the config search and relative paths. @default process.cwd() */
  cwd?: string;
  /** @default consoleLogger() */
  logger?: Logger;
  /** Runtimes when the config names none. @default defaultRuntimes() */
  runtimes?: RuntimePlugin[];
  /** Close gracefully on SIGTERM / SIGINT, then exit the process. @default true */
  handleSignals?: boolean;
  /** How long open HTTP requests may take to finish at shutdown, ms. @default 10_000 */
  drainMs?: number;
}

export interface RunningHost {
  /** Base URL of the HTTP server (loopback when bound to all interfaces). */
  url: string;
  port: number;
  role: Role;
  nanogrid: NanoGrid;
  /** The config file used, if any. */
  configPath: string | undefined;
  /** Graceful stop: no new requests or jobs, running jobs finish, plugins close. Idempotent. */
  close(): Promise<void>;
}

/** `nanogrid start`: load the config, compose the engine, serve HTTP, run the worker. */
export async function startHost(opts: StartHostOptions = {}): Promise<RunningHost> {
  const logger = opts.logger ?? consoleLogger();
  const cwd = opts.cwd ?? process.cwd();
  const loaded = opts.config
    ? { config: validateConfig(opts.config, 'startHost({ config })'), filepath: undefined }
    : await loadConfig({ cwd, ...(opts.configPath ? { configPath: opts.configPath } : {}) });
  const role = opts.role ?? loaded.config.role ?? 'all';
  // The all-in-one host's own queue and records (SQLite or memory): sync calls may skip the queue.
  const embeddedStore = role === 'all' && !loaded.config.queue && !loaded.config.results;
  const config: NanoGridConfig = await withEmbeddedStore({ ...loaded.config, role }, cwd, logger);
  logger.info(loaded.filepath ? 'config loaded' : 'no config file; running the embedded defaults', {
    ...(loaded.filepath ? { file: loaded.filepath } : { cwd }),
    role,
  });

  let nanogrid: NanoGrid;
  try {
    nanogrid = await composeNanoGrid(config, {
      runtimes: opts.runtimes ?? defaultRuntimes(),
      cwd,
      logger,
      pickSandbox: sandboxPicker(),
    });
  } catch (err) {
    // Compose closes the queue and results it was given; the rate-limit store is the host's to close.
    await config.http?.rateLimitStore?.close?.();
    throw err;
  }
  if (role !== 'controller' && !nanogrid.worker) {
    await nanogrid.close();
    throw new NanoGridError(
      'CONFIG_INVALID',
      `role "${role}" runs jobs, but no worker could be composed (no sandbox?)`,
    );
  }
  const worker = nanogrid.worker;
  if (worker && embeddedStore && (config.embedded?.syncInProcess ?? true))
    nanogrid.jobs.runInProcess((job, fn) => worker.runNow(job, fn));
  const shutdown = new AbortController();
  // Every controller runs a scheduler; a claim in the result sink makes one of them fire each tick.
  const scheduleStore = new ScheduleStore(nanogrid.storage);
  const scheduler =
    role !== 'worker' && nanogrid.results.claim
      ? new Scheduler({
          store: scheduleStore,
          jobs: nanogrid.jobs,
          results: nanogrid.results,
          logger,
          owner: `${hostname()}:${process.pid}`,
        })
      : undefined;
  // Uploads of a process that died mid-request left temp files: a live one is never older than a request may take.
  const uploadDir = join(nanogrid.options.workDir, 'incoming');
  const stale = await removeStaleUploads(
    uploadDir,
    Math.max(3_600_000, 2 * (config.http?.requestTimeoutMs ?? 300_000)),
  );
  if (stale > 0) logger.info('removed uploads left by an earlier process', { count: stale, dir: uploadDir });
  const telemetry = hostTelemetry(nanogrid, {
    ...(config.presence?.intervalMs !== undefined ? { intervalMs: config.presence.intervalMs } : {}),
  });
  const { app, fastRoute } =
    role === 'worker'
      ? { app: healthOnly(logger, nanogrid.metrics, config.http?.apiKeys ?? []), fastRoute: undefined }
      : createControllerHttp({
          metrics: nanogrid.metrics,
          registry: nanogrid.registry,
          jobs: nanogrid.jobs,
          storage: nanogrid.storage,
          http: config.http ?? {},
          logger,
          limits: config.limits ?? {},
          shutdownSignal: shutdown.signal,
          uploadDir,
          lambda: config.lambda ?? {},
          schedules: { store: scheduleStore, ...(scheduler ? { scheduler } : {}) },
          system: telemetry.system,
        });

  let server: Server;
  try {
    const timeouts = serverTimeouts(config.http ?? {});
    server = await listen(
      app,
      opts.port ?? config.port ?? 8080,
      opts.hostname ?? config.hostname ?? '0.0.0.0',
      timeouts,
      fastRoute,
    );
    guardRequestBodies(server, {
      idleMs: timeouts.bodyIdleTimeout,
      onDrop: (req) =>
        logger.warn('request body stalled; connection dropped', {
          method: req.method,
          path: req.url,
          idle_ms: timeouts.bodyIdleTimeout,
        }),
    });
  } catch (err) {
    await nanogrid.close();
    throw err;
  }
  const { port, address } = server.address() as AddressInfo;
  const url = `http://${displayHost(address)}:${port}`;

  const storage = nanogrid.storage;
  if (storage.setPublicUrl && !config.http?.publicUrl) {
    storage.setPublicUrl(url);
    if (role !== 'all')
      logger.warn("file links use this host's loopback URL; set http.publicUrl so other machines can open them", {
        url,
      });
  }
  nanogrid.worker?.start();
  nanogrid.autoscaler.start();
  scheduler?.start();
  // Listed by GET /system from the moment the host is up.
  await telemetry.presence.start();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      removeSignals();
      await telemetry.presence.stop();
      await scheduler?.stop();
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Running jobs finish and publish, so sync requests waiting on them get real answers…
      await nanogrid.worker?.stop();
      // …and those still waiting on queued jobs answer 202 + poll instead of hanging.
      shutdown.abort();
      // Keep-alive sockets turn idle only after their last answer: close them as they do.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const deadline = setTimeout(() => server.closeAllConnections(), opts.drainMs ?? 10_000);
      await drained;
      clearInterval(sweep);
      clearTimeout(deadline);
      await Promise.allSettled([nanogrid.close(), config.http?.rateLimitStore?.close?.()]);
      logger.info('stopped', { role });
    })());

  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) {
      logger.warn('second signal; exiting now', { signal });
      process.exit(1);
    }
    logger.info('shutting down: no new requests or jobs, running jobs finish', {
      signal,
      in_flight: nanogrid.worker?.inFlight ?? 0,
    });
    close().then(
      () => process.exit(0),
      (err: Error) => {
        logger.error('shutdown failed', { error: err.message });
        process.exit(1);
      },
    );
  };
  const removeSignals = (): void => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
  if (opts.handleSignals ?? true) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  return { url, port, role, nanogrid, configPath: loaded.filepath, close };
}

/** A worker-only process still answers load-balancer probes and serves its metrics. */
function healthOnly(logger: Logger, metrics: MetricsSource, apiKeys: string[]): Hono {
  const app = new Hono();
  app.onError(onErrorHandler(logger));
  app.notFound(notFoundHandler);
  app.get('/health', (c) => c.json({ status: 'healthy' }));
  app.use('*', apiKeyAuth(apiKeys));
  app.get('/metrics', metricsHandler(metrics));
  return app;
}

function listen(
  app: Hono,
  port: number,
  hostname: string,
  t: ReturnType<typeof serverTimeouts>,
  fastRoute?: FastRoute,
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = serve({
      fetch: app.fetch,
      port,
      hostname,
      // The fast route answers what it takes (`POST /run`) before Hono's listener sees it.
      ...(fastRoute
        ? {
            createServer: ((options, listener) =>
              createServer(options, (req, res) => {
                if (!fastRoute(req, res)) listener?.(req, res);
              })) as typeof createServer,
          }
        : {}),
      serverOptions: {
        requestTimeout: t.requestTimeout,
        headersTimeout: t.headersTimeout,
        keepAliveTimeout: t.keepAliveTimeout,
        connectionsCheckingInterval: t.connectionsCheckingInterval,
      },
    }) as Server;
    server.setTimeout(t.timeout);
    server.once('listening', () => {
      server.off('error', onError);
      resolve(server);
    });
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        new NanoGridError('CONFIG_INVALID', `cannot listen on ${hostname}:${port}: ${err.code ?? err.message}`, {
          cause: err,
        }),
      );
    };
    server.once('error', onError);
  });
}

function displayHost(address: string): string {
  if (address === '0.0.0.0' || address === '::' || address === '') return '127.0.0.1';
  return address.includes(':') ? `[${address}]` : address;
}

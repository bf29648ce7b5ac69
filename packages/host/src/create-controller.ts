import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type FunctionRegistry,
  type HttpConfig,
  type JobService,
  type LimitsConfig,
  type Logger,
  ScheduleStore,
  type Scheduler,
  type StorageBackend,
  consoleLogger,
} from '@nanogrid/core';
import { uiRoutes } from '@nanogrid/ui';
import { type Context, Hono } from 'hono';
import { apiKeyAuth, apiKeyCheck } from './http/api-key-auth.js';
import { clientIp } from './http/client-ip.js';
import { notFoundHandler, onErrorHandler } from './http/error-response.js';
import { endpointHandler } from './http/endpoint-handler.js';
import { filesHandler } from './http/files-handler.js';
import { functionRoutes } from './http/function-routes.js';
import { jobRoutes } from './http/job-routes.js';
import { openApiDocument } from './http/openapi.js';
import { type FastRoute, fastRun } from './http/fast-run.js';
import { type RateLimitHit, rateLimit, rateLimitCheck } from './http/rate-limit.js';
import { readUpload } from './http/read-upload.js';
import { runCall } from './http/run-call.js';
import { runHandler } from './http/run-handler.js';
import { scheduleRoutes } from './http/schedule-routes.js';
import { statsRoutes } from './http/stats-routes.js';
import { type SystemSource, systemRoutes } from './http/system-routes.js';
import { functionView, jobView } from './http/views.js';
import { LAMBDA_PREFIX, lambdaErrorResponse, toLambdaError, unknownOperation } from './lambda/lambda-error.js';
import { lambdaApi } from './lambda/lambda-api.js';
import type { LambdaIdentity } from './lambda/lambda-views.js';
import type { LambdaCredential } from './lambda/sigv4-verify.js';
import { memoryRateLimitStore } from './memory-rate-limit-store.js';

const MiB = 1024 * 1024;

/** What `GET /metrics` serves: Prometheus text. */
export interface MetricsSource {
  text(): Promise<string>;
  readonly contentType: string;
}

export interface ControllerDeps {
  registry: Pick<FunctionRegistry, 'deploy' | 'get' | 'list' | 'delete' | 'versions' | 'setAlias' | 'deleteAlias'>;
  jobs: Pick<
    JobService,
    'submit' | 'submitOnce' | 'status' | 'wait' | 'cancel' | 'list' | 'followLogs' | 'watch' | 'logs'
  >;
  /** Serves `GET /files/*` when it signs its own links (the embedded filesystem storage). */
  storage: StorageBackend;
  /** API keys, rate limit, body limit. @default open API, 1000 requests / 5 min per IP, 50 MiB bodies */
  http?: HttpConfig;
  /** @default consoleLogger() */
  logger?: Logger;
  /** `maxPayloadBytes` caps the body of `POST /run`. @default 6 MiB */
  limits?: LimitsConfig;
  /**
   * Take the client IP for the rate limit from `X-Forwarded-For` (right-most
   * entry). Only behind a proxy that sets it. @default http.trustProxy ?? false
   */
  trustProxy?: boolean;
  /** Added to a function's timeout for a sync `POST /run` wait. @default 30_000 */
  syncMarginMs?: number;
  /** Aborted at shutdown: pending sync runs answer 202 + poll instead of hanging. */
  shutdownSignal?: AbortSignal;
  /** Served at `GET /metrics` (behind the API keys when they are set). */
  metrics?: MetricsSource;
  /** Directory uploads are streamed to before they are deployed. @default {os tmpdir}/nanogrid-uploads */
  uploadDir?: string;
  /** The Lambda API's identity and the key pairs its clients sign with. @default us-east-1, 000000000000, none */
  lambda?: Partial<LambdaIdentity> & { credentials?: LambdaCredential[] };
  /** Schedules of functions: where they are kept and the scheduler that fires them (absent: refused). */
  schedules?: { store: ScheduleStore; scheduler?: Scheduler };
  /**
   * The shared backends and this host's facts: `GET /system`, and the statistics
   * (`GET /functions/{ref}/stats`, `GET /stats/functions`) read from its result store.
   * Absent: those routes answer BAD_REQUEST saying so. See hostTelemetry().
   */
  system?: SystemSource;
  /** Heartbeat of event streams (`?follow=1`): a `: ping` comment this often. @default 15_000 */
  sseHeartbeatMs?: number;
  /** Bytes of events an event stream queues for a client that reads too slowly, before closing it. @default 16 MiB */
  sseMaxQueuedBytes?: number;
  /** Bytes queued for all slow event-stream clients together; the stream that would pass it is closed. @default 64 MiB */
  sseMaxQueuedBytesTotal?: number;
  /** Clock of the rate limiter (tests). @default Date.now */
  now?: () => number;
}

/**
 * The controller's HTTP API (the original system's routes, function management
 * and the AWS Lambda API) as a Hono app. It is stateless: everything lives in the registry's storage and the
 * job service's sink, so any number of controllers can serve the same API.
 */
export function createController(deps: ControllerDeps): Hono {
  return createControllerHttp(deps).app;
}

/**
 * The controller as Node's server serves it: the Hono app, and `fastRoute`,
 * which answers `POST /run` before Hono with the same behaviour (fast-run.ts)
 * and leaves every other request to the app.
 */
export function createControllerHttp(deps: ControllerDeps): { app: Hono; fastRoute: FastRoute } {
  const logger = deps.logger ?? consoleLogger();
  const http = deps.http ?? {};
  const trustProxy = deps.trustProxy ?? (http as { trustProxy?: boolean }).trustProxy ?? false;
  const bodyLimitBytes = http.bodyLimitBytes ?? 50 * MiB;
  // A run's body is its payload plus a little JSON around it.
  const runBodyLimit = Math.min(bodyLimitBytes, (deps.limits?.maxPayloadBytes ?? 6 * MiB) + 64 * 1024);
  const uploadDir = deps.uploadDir ?? join(tmpdir(), 'nanogrid-uploads');

  const app = new Hono();
  // Under the Lambda API's prefix errors take the shape the AWS SDKs parse, the rate limiter's included.
  const onError = onErrorHandler(logger);
  const isLambda = (c: Context) => c.req.path.startsWith(`${LAMBDA_PREFIX}/`);
  app.onError((err, c) => (isLambda(c) ? lambdaErrorResponse(c, toLambdaError(err)) : onError(err, c)));
  app.notFound((c) =>
    isLambda(c) ? lambdaErrorResponse(c, unknownOperation(c.req.method, c.req.path)) : notFoundHandler(c),
  );

  // Load balancers probe /health: no key, no rate limit.
  app.get('/health', (c) => c.json({ status: 'healthy' }));

  let limitHit: ((key: string) => Promise<RateLimitHit>) | undefined;
  if (http.rateLimit !== false) {
    const { max, windowMs } = http.rateLimit ?? { max: 1000, windowMs: 300_000 };
    const store = http.rateLimitStore ?? memoryRateLimitStore(deps.now ? { now: deps.now } : {});
    limitHit = rateLimitCheck({ store, max, windowMs, logger, ...(deps.now ? { now: deps.now } : {}) });
    app.use(
      '*',
      rateLimit({
        store,
        max,
        windowMs,
        logger,
        keyOf: (c) => clientIp(c, trustProxy),
        ...(deps.now ? { now: deps.now } : {}),
      }),
    );
  }

  const storage = deps.storage;
  // Only a storage whose links point at this host (the filesystem storage) is served here.
  if (storage.verifySignedUrl) app.get('/files/*', filesHandler(storage, storage.verifySignedUrl.bind(storage)));

  // The Lambda API signs its requests (SigV4) instead of sending an API key.
  const credentials = deps.lambda?.credentials ?? [];
  app.route(
    LAMBDA_PREFIX,
    lambdaApi({
      registry: deps.registry,
      jobs: deps.jobs,
      storage,
      identity: { region: deps.lambda?.region ?? 'us-east-1', accountId: deps.lambda?.accountId ?? '000000000000' },
      credentials,
      requireSignature: (http.apiKeys?.length ?? 0) > 0 || credentials.length > 0,
      bodyLimitBytes: Math.ceil((bodyLimitBytes * 4) / 3) + 64 * 1024,
      maxPayloadBytes: deps.limits?.maxPayloadBytes ?? 6 * MiB,
      syncMarginMs: deps.syncMarginMs ?? 30_000,
      logger,
      ...(deps.shutdownSignal ? { shutdownSignal: deps.shutdownSignal } : {}),
    }),
  );

  // HTTP endpoints check the key themselves: a function deployed public needs none.
  const auth = apiKeyAuth(http.apiKeys ?? []);
  app.all(
    '/fn/*',
    endpointHandler({
      registry: deps.registry,
      jobs: deps.jobs,
      auth,
      bodyLimit: runBodyLimit,
      syncMarginMs: deps.syncMarginMs ?? 30_000,
      accountId: deps.lambda?.accountId ?? '000000000000',
      clientIp: (c) => clientIp(c, trustProxy),
      ...(deps.shutdownSignal ? { shutdownSignal: deps.shutdownSignal } : {}),
    }),
  );

  // The API's contract (generated from http/api-routes.ts), open like /health for tooling.
  let doc: ReturnType<typeof openApiDocument> | undefined;
  app.get('/openapi.json', (c) => c.json((doc ??= openApiDocument())));

  // The dashboard's page and code are open (they hold no data); every call they make sends the key.
  if (http.ui !== false) {
    app.route('/', uiRoutes({ auth: (http.apiKeys?.length ?? 0) > 0 }));
  }

  // Everything below needs a key when keys are configured.
  app.use('*', auth);

  if (deps.metrics) app.get('/metrics', metricsHandler(deps.metrics));

  app.post('/upload', async (c) => {
    // The file is streamed to a temp file (the limit counted as bytes arrive) and removed on every path.
    const upload = await readUpload(c, { maxBytes: bodyLimitBytes, dir: uploadDir });
    const meta = await deps.registry.deploy(upload.request).finally(upload.cleanup);
    logger.info('function deployed', {
      function_id: meta.function_id,
      function_name: meta.function_name,
      version: meta.version,
      runtime: meta.runtime,
    });
    return c.json(functionView(meta), 201);
  });

  // One run for both ways in (Hono's route, the fast route): one count of sync waits.
  const run = runCall({
    jobs: deps.jobs,
    bodyLimit: runBodyLimit,
    syncMarginMs: deps.syncMarginMs ?? 30_000,
    ...(http.maxInflight !== undefined ? { maxInflight: http.maxInflight } : {}),
  });
  app.post('/run', runHandler(run, deps.shutdownSignal));
  const fastRoute = fastRun({
    run,
    ...(limitHit ? { rateLimit: limitHit } : {}),
    ...((http.apiKeys?.length ?? 0) > 0 ? { auth: apiKeyCheck(http.apiKeys ?? []) } : {}),
    trustProxy,
    logger,
    ...(deps.shutdownSignal ? { shutdownSignal: deps.shutdownSignal } : {}),
  });

  app.get('/status/:job_id', async (c) =>
    c.json(jobView(await deps.jobs.status(c.req.param('job_id')), { withPayload: true })),
  );

  jobRoutes(app, {
    registry: deps.registry,
    jobs: deps.jobs,
    ...(deps.shutdownSignal ? { shutdownSignal: deps.shutdownSignal } : {}),
    ...(deps.sseHeartbeatMs !== undefined ? { heartbeatMs: deps.sseHeartbeatMs } : {}),
    ...(deps.sseMaxQueuedBytes !== undefined ? { maxQueuedBytes: deps.sseMaxQueuedBytes } : {}),
    ...(deps.sseMaxQueuedBytesTotal !== undefined
      ? { queueBudget: { maxBytes: deps.sseMaxQueuedBytesTotal, used: 0 } }
      : {}),
  });
  functionRoutes(app, { registry: deps.registry, logger });
  scheduleRoutes(app, {
    registry: deps.registry,
    store: deps.schedules?.store ?? new ScheduleStore(storage),
    logger,
    ...(deps.schedules?.scheduler ? { scheduler: deps.schedules.scheduler } : {}),
  });

  statsRoutes(app, { registry: deps.registry, results: deps.system?.results });
  systemRoutes(app, deps.system);

  return { app, fastRoute };
}

/** `GET /metrics`: the host's Prometheus exposition. */
export function metricsHandler(metrics: MetricsSource) {
  return async (c: Context): Promise<Response> =>
    c.body(await metrics.text(), 200, { 'content-type': metrics.contentType });
}

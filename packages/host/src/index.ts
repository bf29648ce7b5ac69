// The host: HTTP controller, worker process, config loading, CLI.
export { createController, createControllerHttp, type ControllerDeps } from './create-controller.js';
export { fastRun, type FastRoute, type FastRunOptions } from './http/fast-run.js';
export { startHost, type StartHostOptions, type RunningHost } from './start-host.js';
export { loadConfig, CONFIG_FILES, type LoadConfigOptions, type LoadedConfig } from './config/load-config.js';
export { validateConfig } from './config/validate-config.js';
export { loadTsConfigFile } from './config/load-ts.js';
export { defaultRuntimes } from './default-runtimes.js';
export { pickSandbox, sandboxPicker, type PickSandboxOptions, type SandboxProbe } from './pick-sandbox.js';
export {
  memoryRateLimitStore,
  type MemoryRateLimitStore,
  type MemoryRateLimitStoreOptions,
} from './memory-rate-limit-store.js';
export { serverTimeouts, type ServerTimeoutOptions, type ServerTimeouts } from './server-timeouts.js';
export { guardRequestBodies, type BodyGuardOptions } from './guard-request-bodies.js';
export { runCli, USAGE, UsageError, type CliIo } from './cli-main.js';
export { errorBody, type ErrorBody } from './http/error-response.js';
export { functionView, jobView, type FunctionView } from './http/views.js';
export { API_ROUTES, UNDOCUMENTED_PREFIXES, honoPath, type ApiRoute } from './http/api-routes.js';
export { openApiDocument, type OpenApiOptions } from './http/openapi.js';
export { rateLimit, type RateLimitOptions } from './http/rate-limit.js';
export { apiKeyAuth } from './http/api-key-auth.js';
export { clientIp } from './http/client-ip.js';
export { hostTelemetry, hostVersion, type HostTelemetry } from './host-telemetry.js';
export type { SystemSource, BackendHealth } from './http/system-routes.js';
export { readWindow, readStep } from './http/stats-routes.js';

// What a nanogrid.config.ts needs, so it can import everything from @nanogrid/host.
export { defineConfig, NanoGridError } from '@nanogrid/core';
export type {
  ConfigExport,
  NanoGridConfig,
  Role,
  SandboxChoice,
  SandboxSettings,
  HttpConfig,
  LimitsConfig,
  WorkerConfig,
  NetworkPolicy,
  Logger,
  QueueSource,
  ResultSink,
  StorageBackend,
  Sandbox,
  RuntimePlugin,
  RateLimitStore,
} from '@nanogrid/core';

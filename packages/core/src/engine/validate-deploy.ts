import { NanoGridError } from '../errors.js';
import type { CallbackFormat } from '../job.js';
import { checkCallbackUrl } from '../webhooks/callback-url-guard.js';
import { NETWORK_POLICIES, type NetworkPolicy } from '../function-meta.js';
import { runtimeMatches, type RuntimePlugin } from '../plugins/runtime-plugin.js';
import type { EngineOptions } from './engine-options.js';
import { reservedEnvReason } from './reserved-env.js';
import { FUNCTION_NAME_RE, UUID_RE } from './function-ref.js';

/** Code already on the local disk (a streamed upload): read from there, never loaded whole. */
export interface CodeFile {
  path: string;
  size: number;
}

/** What `POST /upload` (or any other caller) asks the registry to deploy. */
export interface DeployRequest {
  functionName: string;
  /** Runtime id: `python3.9`, `nodejs18.x`, `cpp`, `go1.19` … */
  runtime: string;
  /** Name of the uploaded file: a source file of the runtime or a `.zip`. */
  fileName: string;
  /** The uploaded bytes, or the file they were streamed to. */
  data: Buffer | CodeFile;
  /** `module.function`. @default the runtime's default handler */
  handler?: string;
  /** @default limits.defaultTimeoutSec */
  timeoutSec?: number;
  /** @default limits.defaultMemoryMb */
  memoryMb?: number;
  /** Space of /tmp and /output together, MiB. @default limits.defaultDiskMb */
  diskMb?: number;
  /** @default config.defaultNetwork */
  network?: NetworkPolicy;
  env?: Record<string, string>;
  /** Jobs of the function run at once per worker. @default worker.functionConcurrency */
  maxConcurrency?: number;
  /** `/fn/{name}/…` needs no API key. @default false */
  public?: boolean;
  /** API Gateway payload format of `/fn/{name}/…` events: REST proxy or HTTP API. @default '1.0' */
  httpEvent?: '1.0' | '2.0';
  /** Default completion callback of its jobs (checked against `webhooks.allowNetworks`). */
  callbackUrl?: string;
  /** @default 'json' */
  callbackFormat?: CallbackFormat;
}

/** A deploy request with every default filled in and every limit checked. */
export interface ValidDeploy {
  functionName: string;
  runtime: string;
  plugin: RuntimePlugin;
  handler: string;
  timeoutSec: number;
  memoryMb: number;
  diskMb: number;
  network: NetworkPolicy;
  env: Record<string, string>;
  maxConcurrency?: number;
  public: boolean;
  httpEvent: '1.0' | '2.0';
  callbackUrl?: string;
  callbackFormat?: CallbackFormat;
}

/**
 * Lambda's handler names: a module path (folders by `/` or `.`, names with
 * letters, digits, `_` and `-`, never `..`) then `.function`:
 * `lambda_function.lambda_handler`, `simple-hello-cli.handler`, `src/index.handler`.
 */
const HANDLER_RE = /^[A-Za-z0-9_][\w-]*(?:[./][A-Za-z0-9_][\w-]*)*\.[A-Za-z_$][\w$]*$/;
const HANDLER_MAX = 128;
const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function invalid(field: string, message: string): NanoGridError {
  return new NanoGridError('VALIDATION_FAILED', message, { details: { field } });
}

/** The plugin serving a runtime id, or RUNTIME_NOT_FOUND naming the ids that work. */
export function findRuntime(runtimes: readonly RuntimePlugin[], runtime: string): RuntimePlugin {
  const plugin = runtimes.find((p) => runtimeMatches(p, runtime));
  if (plugin) return plugin;
  const known = runtimes.flatMap((p) => p.runtimes.map((r) => (typeof r === 'string' ? r : r.source)));
  throw new NanoGridError(
    'RUNTIME_NOT_FOUND',
    `no runtime serves "${runtime}"; this host has: ${known.join(', ') || 'none'}`,
    {
      details: { field: 'runtime', runtime },
    },
  );
}

/** A handler name the runtime can load, or VALIDATION_FAILED; programs (C++, Go) take any value and ignore it. */
function checkHandler(handler: string, plugin: RuntimePlugin): string {
  if (typeof handler !== 'string' || handler.length > HANDLER_MAX || /[\u0000-\u001f\u007f]/.test(handler)) {
    throw invalid('handler', `handler must be at most ${HANDLER_MAX} printable characters`);
  }
  if (plugin.takesHandler === false) return handler;
  if (!HANDLER_RE.test(handler)) {
    throw invalid(
      'handler',
      `handler must look like "module.function" (the module may name folders: "src/index.handler", "pkg.mod.handler"), got "${handler}"`,
    );
  }
  return handler;
}

/** Checks names, limits, network and env of a deploy; the code itself is checked by the registry. */
export function validateDeploy(req: DeployRequest, runtimes: readonly RuntimePlugin[], o: EngineOptions): ValidDeploy {
  if (!FUNCTION_NAME_RE.test(req.functionName)) {
    throw invalid(
      'function_name',
      'function_name must be 1-128 letters, digits, "_", "-" or "." and start with a letter or digit',
    );
  }
  // References try an id first: a name shaped like one could shadow (or be shadowed by) another function.
  if (UUID_RE.test(req.functionName)) {
    throw invalid(
      'function_name',
      `function_name "${req.functionName}" looks like a function id; pick a name that does not`,
    );
  }
  const plugin = findRuntime(runtimes, req.runtime);
  const handler = checkHandler(req.handler ?? plugin.defaultHandler, plugin);
  const timeoutSec = req.timeoutSec ?? o.defaultTimeoutSec;
  if (!(timeoutSec > 0) || timeoutSec > o.maxTimeoutSec) {
    throw invalid('timeout', `timeout must be over 0 and at most ${o.maxTimeoutSec} seconds, got ${timeoutSec}`);
  }
  const memoryMb = req.memoryMb ?? o.defaultMemoryMb;
  if (!Number.isInteger(memoryMb) || memoryMb < 16 || memoryMb > o.maxMemoryMb) {
    throw invalid('memory_mb', `memory_mb must be a whole number from 16 to ${o.maxMemoryMb}, got ${memoryMb}`);
  }
  const diskMb = req.diskMb ?? o.defaultDiskMb;
  if (!Number.isInteger(diskMb) || diskMb < 1 || diskMb > o.maxDiskMb) {
    throw invalid('disk_mb', `disk_mb must be a whole number from 1 to ${o.maxDiskMb}, got ${diskMb}`);
  }
  const network = req.network ?? o.defaultNetwork;
  if (!NETWORK_POLICIES.includes(network)) {
    throw invalid('network', `network must be one of ${NETWORK_POLICIES.join(', ')}, got "${String(network)}"`);
  }
  if (network === 'ai' && !o.aiEndpoint) {
    throw invalid('network', 'network "ai" needs an AI endpoint: set ai.endpoint in nanogrid.config.ts');
  }
  const env = req.env ?? {};
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_KEY_RE.test(k))
      throw invalid('env', `env name "${k}" must be letters, digits and "_", not starting with a digit`);
    if (typeof v !== 'string') throw invalid('env', `env value of "${k}" must be a string`);
    const reserved = reservedEnvReason(k);
    if (reserved) throw invalid('env', `env name "${k}" cannot be set by a function: ${reserved}`);
  }
  const mc = req.maxConcurrency;
  if (mc !== undefined && (!Number.isInteger(mc) || mc < 1 || mc > 10_000)) {
    throw invalid('max_concurrency', `max_concurrency must be a whole number from 1 to 10000, got ${mc}`);
  }
  const httpEvent = req.httpEvent ?? '1.0';
  if (httpEvent !== '1.0' && httpEvent !== '2.0') {
    throw invalid(
      'http_event',
      `http_event must be "1.0" (REST proxy) or "2.0" (HTTP API), got "${String(httpEvent)}"`,
    );
  }
  const callback = checkCallback(req.callbackUrl, req.callbackFormat, o);
  return {
    ...callback,
    functionName: req.functionName,
    public: req.public === true,
    httpEvent,
    runtime: req.runtime,
    plugin,
    handler,
    timeoutSec,
    memoryMb,
    diskMb,
    network,
    env,
    ...(mc !== undefined ? { maxConcurrency: mc } : {}),
  };
}

/**
 * A completion callback as given at deploy or submit: the URL is refused
 * (VALIDATION_FAILED, field callback_url) unless it may be reached under
 * `webhooks.allowNetworks`; the format is `json` or `slack`.
 */
export function checkCallback(
  url: unknown,
  format: unknown,
  o: Pick<EngineOptions, 'webhooks'>,
): { callbackUrl?: string; callbackFormat?: CallbackFormat } {
  if (format !== undefined && format !== 'json' && format !== 'slack') {
    throw invalid('callback_format', `callback_format must be "json" or "slack", got "${String(format)}"`);
  }
  if (url === undefined) {
    if (format !== undefined) throw invalid('callback_format', 'callback_format needs a callback_url');
    return {};
  }
  checkCallbackUrl(url, o.webhooks.policy);
  return { callbackUrl: url as string, ...(format !== undefined ? { callbackFormat: format } : {}) };
}

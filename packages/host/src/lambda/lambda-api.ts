import { buffer } from 'node:stream/consumers';
import type { DeployRequest, FunctionMeta, FunctionRegistry, JobService, Logger, StorageBackend } from '@nanogrid/core';
import { type Context, Hono } from 'hono';
import { readBodyBytes } from '../http/read-body.js';
import { requestWaits } from '../http/wait-signal.js';
import {
  LAMBDA_PREFIX,
  LambdaApiError,
  invalidParameter,
  lambdaErrorResponse,
  toLambdaError,
  unknownOperation,
} from './lambda-error.js';
import { lambdaInvoke } from './lambda-invoke.js';
import { type LambdaRef, parseLambdaRef, registryRef, shownVersion } from './lambda-ref.js';
import { type LambdaIdentity, aliasConfiguration, functionArn, functionConfiguration } from './lambda-views.js';
import { type LambdaCredential, verifySigV4 } from './sigv4-verify.js';

export interface LambdaApiDeps {
  registry: Pick<FunctionRegistry, 'deploy' | 'get' | 'list' | 'delete' | 'versions' | 'setAlias' | 'deleteAlias'>;
  jobs: Pick<JobService, 'submit' | 'wait'>;
  storage: StorageBackend;
  identity: LambdaIdentity;
  /** Key pairs requests must be signed with (SigV4); empty with `requireSignature` refuses every request. */
  credentials: readonly LambdaCredential[];
  /** Refuse unsigned requests (set when the host has API keys or credentials). */
  requireSignature: boolean;
  /** Largest request body (a base64 ZipFile is a third larger than the zip). */
  bodyLimitBytes: number;
  /** Largest Invoke payload, as for /run. */
  maxPayloadBytes: number;
  syncMarginMs: number;
  shutdownSignal?: AbortSignal;
  logger: Logger;
}

type Body = Record<string, unknown>;

function parseJson(bytes: Uint8Array): Body {
  if (bytes.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new LambdaApiError('InvalidRequestContentException', 400, 'Could not parse request body into json');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LambdaApiError('InvalidRequestContentException', 400, 'the request body must be a JSON object');
  }
  return value as Body;
}

const optionalInt = (b: Body, key: string): number | undefined => {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidParameter(`${key} must be an integer`);
  return v;
};

const optionalString = (b: Body, key: string): string | undefined => {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidParameter(`${key} must be a string`);
  return v;
};

function environmentOf(b: Body): Record<string, string> | undefined {
  const env = b['Environment'];
  if (env === undefined || env === null) return undefined;
  const vars = (env as Body)['Variables'];
  if (typeof env !== 'object' || (vars !== undefined && (typeof vars !== 'object' || vars === null))) {
    throw invalidParameter('Environment must be {"Variables": {"NAME": "value"}}');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((vars ?? {}) as Body)) {
    if (typeof v !== 'string') throw invalidParameter(`Environment.Variables.${k} must be a string`);
    out[k] = v;
  }
  return out;
}

function zipOf(b: Body): Buffer {
  const code = (b['Code'] ?? b) as Body;
  if (code['S3Bucket'] !== undefined || code['ImageUri'] !== undefined) {
    throw invalidParameter('only ZipFile code is supported here (no S3Bucket/S3Key or container images)');
  }
  const zip = code['ZipFile'];
  if (typeof zip !== 'string' || zip.length === 0) throw invalidParameter('ZipFile (base64 of a .zip) is required');
  if (!/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(zip)) throw invalidParameter('ZipFile must be base64');
  return Buffer.from(zip, 'base64');
}

/** Lambda's own field names mapped onto a NanoGrid deploy, over `base` (the current version's settings). */
function deployRequest(name: string, b: Body, data: Buffer, base?: FunctionMeta): DeployRequest {
  const runtime = optionalString(b, 'Runtime') ?? base?.runtime;
  if (!runtime) throw invalidParameter('Runtime is required (python3.12, nodejs20.x, …)');
  const handler = optionalString(b, 'Handler') ?? base?.handler;
  const timeoutSec = optionalInt(b, 'Timeout') ?? base?.timeout;
  const memoryMb = optionalInt(b, 'MemorySize') ?? base?.memory_mb;
  const env = environmentOf(b) ?? base?.env;
  return {
    functionName: name,
    runtime,
    fileName: 'function.zip',
    data,
    ...(handler !== undefined ? { handler } : {}),
    ...(timeoutSec !== undefined ? { timeoutSec } : {}),
    ...(memoryMb !== undefined ? { memoryMb } : {}),
    ...(env !== undefined ? { env } : {}),
    ...(base ? { network: base.network } : {}),
    ...(base?.max_concurrency !== undefined ? { maxConcurrency: base.max_concurrency } : {}),
  };
}

/**
 * The AWS Lambda API (version 2015-03-31) over the registry and job service,
 * so `aws lambda … --endpoint-url` and `@aws-sdk/client-lambda` work against
 * a NanoGrid host. Every deploy is a new immutable NanoGrid version, so
 * `$LATEST` is the newest version and PublishVersion names it.
 */
export function lambdaApi(deps: LambdaApiDeps): Hono {
  const { registry, identity } = deps;
  const app = new Hono();
  const bodies = new WeakMap<Request, Uint8Array>();

  app.onError((err, c) => {
    const e = toLambdaError(err);
    if (e.status >= 500) deps.logger.error('lambda api request failed', { path: c.req.path, error: err.message });
    return lambdaErrorResponse(c, e);
  });
  app.notFound((c) => lambdaErrorResponse(c, unknownOperation(c.req.method, c.req.path)));

  // Reads the body once (bounded), checks the signature over it, keeps it for the route.
  app.use('*', async (c, next) => {
    const body = await readBodyBytes(c, deps.bodyLimitBytes);
    if (deps.requireSignature) {
      await verifySigV4({ method: c.req.method, url: c.req.url, headers: c.req.raw.headers, body }, deps.credentials);
    }
    bodies.set(c.req.raw, body);
    return next();
  });
  const bodyOf = (c: Context) => bodies.get(c.req.raw) ?? new Uint8Array();
  const refOf = (c: Context): LambdaRef => parseLambdaRef(c.req.param('name') ?? '', c.req.query('Qualifier'));

  /** The version a reference names, as Lambda's "Function not found" when it names none. */
  async function find(ref: LambdaRef): Promise<FunctionMeta> {
    try {
      return await registry.get(registryRef(ref));
    } catch (err) {
      const e = toLambdaError(err);
      if (e.type === 'ResourceNotFoundException') {
        throw new LambdaApiError(e.type, 404, `Function not found: ${functionArn(identity, ref.name, ref.qualifier)}`);
      }
      throw e;
    }
  }
  const config = (meta: FunctionMeta, ref: LambdaRef) =>
    functionConfiguration(meta, identity, shownVersion(ref, meta.version));

  // The aws CLI writes the collection with a trailing slash, the SDKs without.
  const collection = ['/functions', '/functions/'];

  app.on('POST', collection, async (c) => {
    const b = parseJson(bodyOf(c));
    const name = parseLambdaRef(optionalString(b, 'FunctionName') ?? '').name;
    const exists = await registry.get(name).then(
      () => true,
      () => false,
    );
    if (exists) throw new LambdaApiError('ResourceConflictException', 409, `Function already exist: ${name}`);
    const meta = await registry.deploy(deployRequest(name, b, zipOf(b)));
    deps.logger.info('function created through the Lambda API', { function_name: name, version: meta.version });
    return c.json(functionConfiguration(meta, identity, b['Publish'] === true ? String(meta.version) : '$LATEST'), 201);
  });

  app.on('GET', collection, async (c) => {
    const all = (await registry.list()).sort((a, b) => a.function_name.localeCompare(b.function_name));
    const marker = c.req.query('Marker');
    const max = Math.min(Math.max(Number(c.req.query('MaxItems') ?? 50) || 50, 1), 10_000);
    const start = marker ? all.findIndex((m) => m.function_name > marker) : 0;
    const page = start < 0 ? [] : all.slice(start, start + max);
    const next = start >= 0 && start + max < all.length ? page[page.length - 1]?.function_name : undefined;
    return c.json({
      Functions: page.map((m) => functionConfiguration(m, identity, '$LATEST')),
      ...(next ? { NextMarker: next } : {}),
    });
  });

  app.get('/functions/:name', async (c) => {
    const ref = refOf(c);
    const meta = await find(ref);
    const location = await deps.storage.url(meta.s3_key, { expiresIn: 600 }).catch(() => undefined);
    return c.json({
      Configuration: config(meta, ref),
      Code: { RepositoryType: 'S3', ...(location ? { Location: location } : {}) },
      Tags: {},
    });
  });

  app.get('/functions/:name/configuration', async (c) => {
    const ref = refOf(c);
    return c.json(config(await find(ref), ref));
  });

  app.delete('/functions/:name', async (c) => {
    const ref = refOf(c);
    await find(ref);
    await registry.delete(registryRef(ref));
    return c.body(null, 204);
  });

  app.put('/functions/:name/code', async (c) => {
    const ref = refOf(c);
    const current = await find({ name: ref.name });
    const b = parseJson(bodyOf(c));
    const meta = await registry.deploy(deployRequest(current.function_name, {}, zipOf(b), current));
    return c.json(functionConfiguration(meta, identity, b['Publish'] === true ? String(meta.version) : '$LATEST'));
  });

  app.put('/functions/:name/configuration', async (c) => {
    const ref = refOf(c);
    const current = await find({ name: ref.name });
    const b = parseJson(bodyOf(c));
    const code = await buffer(await deps.storage.get(current.s3_key));
    const meta = await registry.deploy(deployRequest(current.function_name, b, code, current));
    return c.json(functionConfiguration(meta, identity, '$LATEST'));
  });

  app.post('/functions/:name/versions', async (c) => {
    const ref = refOf(c);
    const meta = await find({ name: ref.name });
    return c.json(functionConfiguration(meta, identity, String(meta.version)), 201);
  });

  app.get('/functions/:name/versions', async (c) => {
    const ref = refOf(c);
    const { versions } = await registry.versions((await find({ name: ref.name })).function_name);
    const latest = versions[versions.length - 1];
    return c.json({
      Versions: [
        ...(latest ? [functionConfiguration(latest, identity, '$LATEST')] : []),
        ...versions.map((m) => functionConfiguration(m, identity)),
      ],
    });
  });

  // A RequestResponse wait ends with its client or the shutdown, without an `AbortSignal.any` on the long-lived
  // shutdown signal per call (Node 20 keeps ~1 KB of each such signal alive on its source).
  const waitOf = requestWaits(deps.shutdownSignal);
  app.post('/functions/:name/invocations', async (c) => {
    const ref = refOf(c);
    const body = bodyOf(c);
    if (body.length > deps.maxPayloadBytes) {
      throw new LambdaApiError(
        'RequestTooLargeException',
        413,
        `Request must be smaller than ${deps.maxPayloadBytes} bytes for the InvokeFunction operation`,
      );
    }
    return lambdaInvoke(c, ref, body, {
      jobs: deps.jobs,
      syncMarginMs: deps.syncMarginMs,
      resolve: (r) => find(parseLambdaRef(r)),
      waitOf,
    });
  });

  const aliasOf = async (name: string, alias: string) => {
    const { aliases } = await registry.versions(name);
    const found = aliases.find((a) => a.alias === alias);
    if (!found) {
      throw new LambdaApiError(
        'ResourceNotFoundException',
        404,
        `Alias not found: ${functionArn(identity, name, alias)}`,
      );
    }
    return found;
  };
  const versionOf = (b: Body): number => {
    const v = optionalString(b, 'FunctionVersion');
    if (v === '$LATEST') throw invalidParameter('aliases point at a published version number here, not $LATEST');
    if (!v || !/^\d{1,10}$/.test(v)) throw invalidParameter('FunctionVersion must be a version number');
    return Number(v);
  };

  app.post('/functions/:name/aliases', async (c) => {
    const meta = await find({ name: refOf(c).name });
    const b = parseJson(bodyOf(c));
    const alias = optionalString(b, 'Name') ?? '';
    const exists = await aliasOf(meta.function_name, alias).then(
      () => true,
      () => false,
    );
    if (exists) throw new LambdaApiError('ResourceConflictException', 409, `Alias already exists: ${alias}`);
    const set = await registry.setAlias(meta.function_name, alias, versionOf(b));
    return c.json(aliasConfiguration(meta.function_name, set, identity), 201);
  });

  app.get('/functions/:name/aliases', async (c) => {
    const meta = await find({ name: refOf(c).name });
    const { aliases } = await registry.versions(meta.function_name);
    return c.json({ Aliases: aliases.map((a) => aliasConfiguration(meta.function_name, a, identity)) });
  });

  app.get('/functions/:name/aliases/:alias', async (c) => {
    const meta = await find({ name: refOf(c).name });
    const alias = await aliasOf(meta.function_name, c.req.param('alias'));
    return c.json(aliasConfiguration(meta.function_name, alias, identity));
  });

  app.put('/functions/:name/aliases/:alias', async (c) => {
    const meta = await find({ name: refOf(c).name });
    const current = await aliasOf(meta.function_name, c.req.param('alias'));
    const b = parseJson(bodyOf(c));
    const version = b['FunctionVersion'] === undefined ? current.version : versionOf(b);
    const set = await registry.setAlias(meta.function_name, current.alias, version);
    return c.json(aliasConfiguration(meta.function_name, set, identity));
  });

  app.delete('/functions/:name/aliases/:alias', async (c) => {
    const meta = await find({ name: refOf(c).name });
    await aliasOf(meta.function_name, c.req.param('alias'));
    await registry.deleteAlias(meta.function_name, c.req.param('alias'));
    return c.body(null, 204);
  });

  return app;
}

export { LAMBDA_PREFIX };

import { type NanoGridConfig, NanoGridError } from '@nanogrid/core';

/** Throws with the dotted path of the offending field; `at` names the source (file). */
type Check = (value: unknown, path: string) => void;

class Problem extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

const show = (v: unknown): string =>
  typeof v === 'function'
    ? 'a function'
    : v === null
      ? 'null'
      : Array.isArray(v)
        ? 'an array'
        : (JSON.stringify(v) ?? typeof v);

const str: Check = (v, p) => {
  if (typeof v !== 'string' || v === '') throw new Problem(p, `must be a non-empty string, got ${show(v)}`);
};
const bool: Check = (v, p) => {
  if (typeof v !== 'boolean') throw new Problem(p, `must be true or false, got ${show(v)}`);
};
const num =
  (opts: { min?: number; max?: number; integer?: boolean } = {}): Check =>
  (v, p) => {
    const ok =
      typeof v === 'number' &&
      Number.isFinite(v) &&
      (!opts.integer || Number.isInteger(v)) &&
      v >= (opts.min ?? -Infinity) &&
      v <= (opts.max ?? Infinity);
    if (!ok) {
      const range = `${opts.min ?? '-∞'}..${opts.max ?? '∞'}`;
      throw new Problem(p, `must be ${opts.integer ? 'an integer' : 'a number'} in ${range}, got ${show(v)}`);
    }
  };
const oneOf =
  (...values: readonly unknown[]): Check =>
  (v, p) => {
    if (!values.includes(v)) throw new Problem(p, `must be one of ${values.map(show).join(', ')}, got ${show(v)}`);
  };
const url: Check = (v, p) => {
  str(v, p);
  if (!URL.canParse(v as string)) throw new Problem(p, `must be an absolute URL, got ${show(v)}`);
};
const matching =
  (re: RegExp, what: string): Check =>
  (v, p) => {
    if (typeof v !== 'string' || !re.test(v)) throw new Problem(p, `must be ${what}, got ${show(v)}`);
  };
const arrayOf =
  (item: Check): Check =>
  (v, p) => {
    if (!Array.isArray(v)) throw new Problem(p, `must be an array, got ${show(v)}`);
    v.forEach((x, i) => item(x, `${p}[${i}]`));
  };
const recordOf =
  (item: Check): Check =>
  (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new Problem(p, `must be an object, got ${show(v)}`);
    for (const [k, x] of Object.entries(v)) item(x, `${p}.${k}`);
  };
const either =
  (a: Check, b: Check): Check =>
  (v, p) => {
    try {
      a(v, p);
    } catch {
      b(v, p);
    }
  };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A plain options object: known keys only, each optional. */
const object =
  (shape: Record<string, Check>, required: readonly string[] = []): Check =>
  (v, p) => {
    if (!isRecord(v)) throw new Problem(p, `must be an object, got ${show(v)}`);
    for (const key of Object.keys(v)) {
      if (!Object.hasOwn(shape, key))
        throw new Problem(join(p, key), `is not a known option (known: ${Object.keys(shape).join(', ')})`);
    }
    for (const key of required) if (v[key] === undefined) throw new Problem(join(p, key), 'is required');
    for (const [key, check] of Object.entries(shape)) if (v[key] !== undefined) check(v[key], join(p, key));
  };

/** A plugin object: extra members are its own business; the ones the engine calls must be there. */
const plugin =
  (kind: string, methods: readonly string[], fields: Record<string, Check> = {}): Check =>
  (v, p) => {
    if (!isRecord(v))
      throw new Problem(p, `must be a ${kind} plugin object (from its factory, e.g. \`${kind}(...)\`), got ${show(v)}`);
    str(v['name'], join(p, 'name'));
    for (const m of methods) {
      if (typeof v[m] !== 'function')
        throw new Problem(join(p, m), `must be a method: this object is not a ${kind} (missing ${m}())`);
    }
    for (const [key, check] of Object.entries(fields)) check(v[key], join(p, key));
  };

const join = (p: string, key: string): string => (p ? `${p}.${key}` : key);

const storage = plugin('StorageBackend', ['put', 'get', 'head', 'list', 'delete', 'url']);
const runtimeIds = arrayOf(
  either(str, (v, p) => {
    if (!(v instanceof RegExp)) throw new Problem(p, `must be a string or a RegExp, got ${show(v)}`);
  }),
);

/** Every key of NanoGridConfig, checked. A new config option needs a line here. */
const CONFIG_SHAPE: Record<string, Check> = {
  role: oneOf('all', 'controller', 'worker'),
  port: num({ min: 0, max: 65_535, integer: true }),
  hostname: str,
  processes: (v, p) => {
    if (v !== 'auto' && !(Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 1024))
      throw new Problem(p, `must be "auto" (one per core) or an integer in 1..1024, got ${show(v)}`);
  },
  dataDir: str,
  storage,
  replicas: arrayOf(storage),
  queue: plugin('QueueSource', ['send', 'receive', 'depth', 'close']),
  results: plugin('ResultSink', ['create', 'update', 'get', 'publish', 'wait', 'close']),
  embedded: object({ store: oneOf('sqlite', 'memory'), durability: oneOf('normal', 'full'), syncInProcess: bool }),
  sandbox: (v, p) => {
    if (typeof v === 'string') return oneOf('auto', 'process', 'docker')(v, p);
    if (isRecord(v) && 'kind' in v)
      return object({ kind: oneOf('auto', 'process', 'docker'), isolation: oneOf('required', 'none') }, ['kind'])(v, p);
    plugin('Sandbox', ['run'])(v, p);
  },
  runtimes: arrayOf(
    plugin('RuntimePlugin', ['entry'], {
      runtimes: runtimeIds,
      extensions: arrayOf(str),
      image: str,
      defaultHandler: str,
      protocol: oneOf('envelope', 'stdout'),
    }),
  ),
  ai: object({ endpoint: url }, ['endpoint']),
  defaultNetwork: oneOf('none', 'ai', 'internet'),
  worker: object({
    concurrency: num({ min: 1, max: 1024, integer: true }),
    pollWaitMs: num({ min: 0, integer: true }),
    id: str,
    maxConcurrency: num({ min: 1, max: 1024, integer: true }),
    functionConcurrency: num({ min: 0, max: 10_000, integer: true }),
    maxWaiting: num({ min: 0, max: 100_000, integer: true }),
    backendRetryMs: num({ min: 0, max: 86_400_000, integer: true }),
  }),
  warm: object({
    enabled: bool,
    keepAliveMs: num({ min: 0, integer: true }),
    maxPerFunction: num({ min: 1, integer: true }),
    maxTotal: num({ min: 1, integer: true }),
    prewarm: recordOf(num({ min: 0, max: 64, integer: true })),
  }),
  autoscale: object({
    min: num({ min: 0, integer: true }),
    max: num({ min: 1, integer: true }),
    scaleOutAtDepth: num({ min: 1, integer: true }),
    scaleInAfterEmptyMs: num({ min: 0, integer: true }),
    cooldownMs: num({ min: 0, integer: true }),
    intervalMs: num({ min: 100, integer: true }),
  }),
  presence: object({ intervalMs: num({ min: 100, max: 3_600_000, integer: true }) }),
  http: object({
    apiKeys: arrayOf(str),
    maxInflight: num({ min: 1, integer: true }),
    rateLimit: either(
      oneOf(false),
      object({ max: num({ min: 1, integer: true }), windowMs: num({ min: 1, integer: true }) }, ['max', 'windowMs']),
    ),
    rateLimitStore: plugin('RateLimitStore', ['hit']),
    bodyLimitBytes: num({ min: 1, integer: true }),
    publicUrl: url,
    trustProxy: bool,
    ui: bool,
    headersTimeoutMs: num({ min: 100, max: 3_600_000, integer: true }),
    bodyIdleTimeoutMs: num({ min: 100, max: 3_600_000, integer: true }),
    requestTimeoutMs: num({ min: 100, max: 86_400_000, integer: true }),
  }),
  limits: object({
    defaultTimeoutSec: num({ min: 1 }),
    maxTimeoutSec: num({ min: 1 }),
    defaultMemoryMb: num({ min: 1, integer: true }),
    maxMemoryMb: num({ min: 1, integer: true }),
    defaultDiskMb: num({ min: 1, integer: true }),
    maxDiskMb: num({ min: 1, integer: true }),
    cpus: num({ min: 0.01, max: 1024 }),
    maxArchiveEntries: num({ min: 1, integer: true }),
    maxArchiveBytes: num({ min: 1, integer: true }),
    maxOutputBytes: num({ min: 1, integer: true }),
    maxResultBytes: num({ min: 1, integer: true }),
    maxPayloadBytes: num({ min: 1, integer: true }),
    maxQueuedBytes: num({ min: 1024, integer: true }),
    maxStoredResultBytes: num({ min: 1024, integer: true }),
    resultSpillBytes: num({ min: 0, integer: true }),
  }),
  jobTtlSec: num({ min: 1, integer: true }),
  checkBackends: bool,
  webhooks: object({
    secret: str,
    allowNetworks: arrayOf(matching(/^[0-9A-Fa-f.:]+\/\d{1,3}$/, 'a CIDR such as 10.0.0.0/8')),
    retryMs: num({ min: 1, integer: true }),
    maxDelayMs: num({ min: 1, integer: true }),
    maxAgeMs: num({ min: 1, integer: true }),
    timeoutMs: num({ min: 1, integer: true }),
    sweepMs: num({ min: 1, integer: true }),
  }),
  lambda: object({
    region: matching(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'a region such as us-east-1'),
    accountId: matching(/^\d{12}$/, 'twelve digits'),
    credentials: arrayOf(
      object({ accessKeyId: matching(/^[A-Za-z0-9]{4,128}$/, 'letters and digits'), secretAccessKey: str }, [
        'accessKeyId',
        'secretAccessKey',
      ]),
    ),
  }),
};

/**
 * Checks a loaded config at run time (a .js or .json config has no compiler to
 * do it): unknown keys, wrong types, plugin objects missing the methods the
 * engine calls. Throws CONFIG_INVALID naming the source and the field.
 */
export function validateConfig(value: unknown, source = 'config'): NanoGridConfig {
  try {
    object(CONFIG_SHAPE)(value, '');
  } catch (err) {
    if (!(err instanceof Problem)) throw err;
    const field = err.path || '(default export)';
    throw new NanoGridError('CONFIG_INVALID', `${source}: "${field}" ${err.message}`, {
      details: { file: source, field },
    });
  }
  return value as NanoGridConfig;
}

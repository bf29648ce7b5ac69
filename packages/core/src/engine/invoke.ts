import type { NetworkPolicy } from '../function-meta.js';
import type { JobError, StartKind } from '../job.js';
import type { RuntimeFunctionInfo, RuntimePlugin } from '../plugins/runtime-plugin.js';
import type { OutputListener, Sandbox, SandboxRunResult, SandboxRunSpec, WarmRunSpec } from '../plugins/sandbox.js';
import { isNanoGridError } from '../errors.js';
import { interpretRun } from './interpret-run.js';
import {
  DEFAULT_LAMBDA_IDENTITY,
  LATEST_VERSION,
  type LambdaIdentity,
  PAYLOAD_ENV_MAX_BYTES,
  functionArn,
  lambdaEnv,
} from './lambda-env.js';

/** One invocation of a prepared function (code + bootstrap already in `codeDir`). */
export interface InvokeRequest {
  runtime: RuntimePlugin;
  fn: RuntimeFunctionInfo;
  codeDir: string;
  /** Named and removed by its owner (the Executor); the sandbox makes it when the run left outputs. */
  outputDir: string;
  payload: unknown;
  jobId: string;
  functionId: string;
  functionName: string;
  timeoutMs: number;
  memoryMb: number;
  /** Space of /tmp and /output together, MiB. */
  diskMb?: number;
  cpus?: number;
  network: NetworkPolicy;
  aiEndpoint?: string;
  /** The function's own environment. */
  env?: Record<string, string>;
  /** Region and account of the function's ARN and `AWS_REGION`. @default us-east-1, 000000000000 */
  lambda?: LambdaIdentity;
  /** The version being run (`AWS_LAMBDA_FUNCTION_VERSION`). @default '$LATEST' */
  functionVersion?: string;
  /** Largest result accepted, bytes. @default 6 MiB */
  maxResultBytes?: number;
  labels?: Record<string, string>;
  signal?: AbortSignal;
  /** Hears stdout and stderr while the run goes on (live logs); cold stdout ends with the envelope line. */
  onOutput?: OutputListener;
  /** Serve from a warm instance of this key when the sandbox and the runtime can. */
  warmKey?: string;
}

export type InvokeOutcome = (
  | { ok: true; result: unknown; logs: string; run: SandboxRunResult }
  | { ok: false; error: JobError; logs: string; run: SandboxRunResult }
) & {
  start?: StartKind;
  /** False when the run certainly left no output files (a warm call that reported none). */
  outputsWritten?: boolean;
};

/**
 * The environment every run gets: Lambda's reserved variables (the region and
 * TZ may be overridden by the function's own env, the rest may not), the
 * function's env, then NanoGrid's contract, which nothing overrides. `PAYLOAD`
 * holds the event's whole JSON here; a cold run drops it when it is too large
 * for an environment string (the event always travels on stdin too).
 */
export function invocationEnv(req: InvokeRequest, startedAt: number): Record<string, string> {
  const identity = req.lambda ?? DEFAULT_LAMBDA_IDENTITY;
  const version = req.functionVersion ?? LATEST_VERSION;
  const lambda = lambdaEnv({
    identity,
    functionName: req.functionName,
    version,
    handler: req.fn.handler,
    memoryMb: req.memoryMb,
  });
  // Object.assign, not spreads: a literal spreading objects into 20-odd keys takes V8's slow path (~50 µs vs ~2 µs).
  const env = Object.assign({}, lambda.overridable, req.runtime.env, req.env, lambda.fixed, {
    PAYLOAD: JSON.stringify(req.payload ?? {}),
    HANDLER: req.fn.handler,
    JOB_ID: req.jobId,
    FUNCTION_ID: req.functionId,
    FUNCTION_NAME: req.functionName,
    NANOGRID_ENTRY_FILE: req.fn.entryFile,
    NANOGRID_TIMEOUT_MS: String(req.timeoutMs),
    NANOGRID_DEADLINE_MS: String(startedAt + req.timeoutMs),
    NANOGRID_FUNCTION_ARN: functionArn(identity, req.functionName),
    ...(req.aiEndpoint ? { AI_ENDPOINT: req.aiEndpoint } : {}),
  });
  // Object.assign sets a `__proto__` name through the prototype's setter (a string is then dropped): define it.
  for (const from of [req.runtime.env, req.env]) {
    const own = from && Object.getOwnPropertyDescriptor(from, '__proto__');
    if (own) setName(env, '__proto__', own.value as string);
  }
  return env;
}

/** `env[name] = value`, as an own property even for `__proto__`. */
function setName(env: Record<string, string>, name: string, value: string): void {
  Object.defineProperty(env, name, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * The names that change per invocation; the rest of the contract is fixed per
 * warm instance. A warm server receives `PAYLOAD` whole on its channel and
 * applies the size rule of `PAYLOAD_ENV_MAX_BYTES` itself.
 */
const PER_INVOCATION: ReadonlySet<string> = new Set([
  'PAYLOAD',
  'JOB_ID',
  'NANOGRID_TIMEOUT_MS',
  'NANOGRID_DEADLINE_MS',
  'NANOGRID_FUNCTION_ARN',
]);

/** What every run of a request shares, cold or warm: code, output, limits, network, labels. */
function runBase(req: InvokeRequest) {
  // Assignments, not conditional spreads: this is built per call, and spreads cost V8 several times more.
  const base: Omit<SandboxRunSpec, 'command' | 'env'> = {
    image: req.runtime.image,
    codeDir: req.codeDir,
    outputDir: req.outputDir,
    timeoutMs: req.timeoutMs,
    memoryMb: req.memoryMb,
    network: req.network,
  };
  if (req.diskMb !== undefined) base.diskMb = req.diskMb;
  if (req.cpus !== undefined) base.cpus = req.cpus;
  if (req.aiEndpoint) base.aiEndpoint = req.aiEndpoint;
  if (req.labels) base.labels = req.labels;
  if (req.signal) base.signal = req.signal;
  if (req.onOutput) base.onOutput = req.onOutput;
  return base;
}

function limitsOf(req: InvokeRequest) {
  return { timeoutMs: req.timeoutMs, memoryMb: req.memoryMb, maxResultBytes: req.maxResultBytes ?? 6 * 1024 * 1024 };
}

/** One invocation on a warm instance; undefined when the sandbox has no room (the caller runs it cold). */
/**
 * A warm call's environment in its two parts: the names that change per call (all set last by the contract,
 * so nothing overrides them), built at once, and the rest, fixed per instance, built only when an instance
 * starts — an existing instance never reads it, and building ~25 names per call was a measurable share of it.
 */
export function warmEnv(
  req: InvokeRequest,
  startedAt: number,
): { invocation: Record<string, string>; fixed: () => Record<string, string> } {
  let fixed: Record<string, string> | undefined;
  return {
    invocation: {
      PAYLOAD: JSON.stringify(req.payload ?? {}),
      JOB_ID: req.jobId,
      NANOGRID_TIMEOUT_MS: String(req.timeoutMs),
      NANOGRID_DEADLINE_MS: String(startedAt + req.timeoutMs),
      NANOGRID_FUNCTION_ARN: functionArn(req.lambda ?? DEFAULT_LAMBDA_IDENTITY, req.functionName),
    },
    fixed: () => {
      if (fixed) return fixed;
      fixed = {};
      for (const [k, v] of Object.entries(invocationEnv(req, startedAt))) {
        if (PER_INVOCATION.has(k)) continue;
        if (k === '__proto__') setName(fixed, k, v);
        else fixed[k] = v;
      }
      return fixed;
    },
  };
}

async function invokeWarm(sandbox: Sandbox, req: InvokeRequest, serve: string[]): Promise<InvokeOutcome | undefined> {
  const env = warmEnv(req, Date.now());
  // An instance outlives the job that started it: it carries the function's labels, not the job's.
  const { 'nanogrid.job': _job, ...labels } = req.labels ?? {};
  let run;
  try {
    // The base copied onto a literal, not spread into one: `{ ...base, more }` builds a new hidden class per
    // call in V8 (with the getter, ~20 µs a call, measured), Object.assign onto a literal reuses its shape.
    const spec: WarmRunSpec = Object.assign(
      {
        key: req.warmKey!,
        serveCommand: serve,
        // A getter: read by a pool only when it starts an instance (a spread of the spec reads it then too).
        get env() {
          return env.fixed();
        },
        invocationEnv: env.invocation,
      },
      runBase(req),
    );
    spec.labels = labels;
    if (req.runtime.serve?.prewarm) spec.prewarm = req.runtime.serve.prewarm;
    run = await sandbox.runWarm!(spec);
  } catch (err) {
    if (isNanoGridError(err, 'TOO_MANY_REQUESTS')) return undefined;
    throw err;
  }
  if (run.protocolError)
    return {
      ok: false,
      error: { code: 'BAD_RESULT', message: run.protocolError },
      logs: run.stderr,
      run,
      start: run.start,
    };
  return Object.assign(interpretRun(run, req.runtime.protocol, limitsOf(req)), {
    start: run.start,
    outputsWritten: (run.outputCount ?? 1) > 0,
  });
}

/** Runs the runtime's entry command in the sandbox and turns what came out into a result or a JobError. */
export async function invoke(sandbox: Sandbox, req: InvokeRequest): Promise<InvokeOutcome> {
  const serve = req.runtime.serve?.command(req.fn);
  if (serve && req.warmKey && sandbox.runWarm) {
    const warm = await invokeWarm(sandbox, req, serve);
    if (warm) return warm;
  }
  const env = invocationEnv(req, Date.now());
  // The event goes in on stdin, never only through the environment, whose strings the kernel caps at 128 KiB.
  const event = env.PAYLOAD ?? '{}';
  if (Buffer.byteLength(event) > PAYLOAD_ENV_MAX_BYTES) delete env.PAYLOAD;
  const run = await sandbox.run({ ...runBase(req), command: req.runtime.entry(req.fn), env, stdin: event });
  return interpretRun(run, req.runtime.protocol, limitsOf(req));
}

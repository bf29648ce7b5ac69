// NanoGrid's Lambda compatibility for Node: handler names, loading, the context, calling, console, errors.
//
// Copied beside the user's code as `__nanogrid_lambda.mjs`. The cold bootstrap
// (`__nanogrid_bootstrap.mjs`) and the warm server (`__nanogrid_serve.mjs`) both
// import it, so a handler sees the same thing cold and warm. No dependencies.
import { readFileSync } from 'node:fs';
import module from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';

/** The event is in PAYLOAD only up to this size (the kernel caps one environment string at 128 KiB). Keep in sync with core. */
export const PAYLOAD_ENV_MAX_BYTES = 64 * 1024;

/** What Lambda's runtime sets before it loads a function: LAMBDA_TASK_ROOT, the code's folder. */
export function prepareProcess() {
  process.env.LAMBDA_TASK_ROOT ||= process.cwd();
}

export function entryFile() {
  return process.env.NANOGRID_ENTRY_FILE || 'main.js';
}

/**
 * Lambda's rule for Node handlers: the module is the path up to the first dot
 * after the last `/`, the rest is the (nested) export: `src/index.handler`,
 * `simple-hello-cli.handler`, `index.handlers.main`.
 */
export function handlerSpec() {
  const handler = process.env.HANDLER || 'main.handler';
  const slash = handler.lastIndexOf('/') + 1;
  const dot = handler.indexOf('.', slash);
  if (dot < 0) return { module: handler, path: [] };
  return { module: handler.slice(0, dot), path: handler.slice(dot + 1).split('.') };
}

/** Whether the source exports anything (ESM `export`, CommonJS `exports.x` / `module.exports`): a file that does not is a script. */
export function definesExports(source) {
  return /(^|[;{}\s])export\s*(?:[{*]|default\b|const\b|let\b|var\b|function\b|async\b|class\b)|\bexports\s*[.[=]|\bmodule\.exports\b/.test(
    source,
  );
}

export function isScript(file) {
  return !definesExports(readFileSync(file, 'utf8'));
}

/**
 * Node before 20.19 / 22.7 loads a `.js` file with no `"type": "module"` as
 * CommonJS even when it is written with import/export. Then a load hook marks
 * the code directory's `.js` files that use ESM syntax as modules, and the
 * entry is imported again (a new URL: the failed one stays cached). Node's
 * "To load an ES module…" warning from the first attempt stays in the logs.
 * `attempt` makes a retried import (after a failed one) a new module.
 */
export async function importEntry(file, attempt = 0) {
  const url = pathToFileURL(resolve(file)).href + (attempt > 0 ? `?attempt=${attempt}` : '');
  try {
    return await import(url);
  } catch (err) {
    const esmInCjs =
      err instanceof SyntaxError && /import statement outside a module|Unexpected token 'export'/.test(err.message);
    if (!esmInCjs || !file.endsWith('.js') || typeof module.register !== 'function') throw err;
    module.register(`data:text/javascript,${encodeURIComponent(esmHooks(`${pathToFileURL(process.cwd()).href}/`))}`);
    return await import(`${url}${url.includes('?') ? '&' : '?'}esm`);
  }
}

function esmHooks(codeDirUrl) {
  return `
import { readFile } from 'node:fs/promises';
const ESM_SYNTAX = /^[ \\t]*(import[ \\t]*[\\w{*'"]|export[ \\t{*])/m;
export async function load(url, context, nextLoad) {
  const loaded = await nextLoad(url, context);
  if (loaded.format !== 'commonjs' || !url.startsWith(${JSON.stringify(codeDirUrl)}) || !new URL(url).pathname.endsWith('.js')) return loaded;
  const source = String(loaded.source ?? (await readFile(new URL(url), 'utf8')));
  return ESM_SYNTAX.test(source) ? { format: 'module', source, shortCircuit: true } : loaded;
}
`;
}

/** A failure the bootstrap reports with an engine code: the module did not load, or has no such handler. */
export class LoadFailure extends Error {
  constructor(code, error, cause) {
    super(error.message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.error = { ...error, code };
  }
}

function lookup(obj, path) {
  let value = obj;
  for (const key of path) {
    if (value === null || value === undefined || !(key in Object(value))) return undefined;
    value = value[key];
  }
  return value;
}

/** Imports the entry file and returns the handler function, or throws a LoadFailure (IMPORT_ERROR / HANDLER_NOT_FOUND). */
export async function loadHandler(attempt = 0) {
  const file = entryFile();
  const spec = handlerSpec();
  let mod;
  try {
    mod = await importEntry(file, attempt);
  } catch (err) {
    const e = errorOf(err);
    throw new LoadFailure(
      'IMPORT_ERROR',
      { ...e, message: `Unable to import module '${spec.module}': ${e.message}` },
      err,
    );
  }
  const handler = lookup(mod, spec.path) ?? lookup(mod.default, spec.path);
  if (typeof handler !== 'function') {
    const name = [spec.module, ...spec.path].join('.');
    const exported = [...Object.keys(mod), ...Object.keys(Object(mod.default))].filter((k) => k !== 'default');
    const hint = exported.length > 0 ? ` (it exports: ${[...new Set(exported)].join(', ')})` : '';
    throw new LoadFailure('HANDLER_NOT_FOUND', {
      type: 'Runtime.HandlerNotFound',
      message: `${name} is undefined or not exported${hint}`,
    });
  }
  return handler;
}

/** The event: stdin when the host wrote it there, else PAYLOAD (a bootstrap started by hand). */
export async function readEvent() {
  let text = '';
  if (!process.stdin.isTTY) {
    const chunks = [];
    for await (const chunk of process.stdin) chunks.push(chunk);
    text = Buffer.concat(chunks).toString('utf8');
  }
  return parseEvent(text.trim() === '' ? (process.env.PAYLOAD ?? '') : text);
}

export function parseEvent(text) {
  return text.trim() === '' ? {} : JSON.parse(text);
}

/** PAYLOAD as the original contract has it, when it fits in an environment string. */
export function payloadEnv(text) {
  return Buffer.byteLength(text) <= PAYLOAD_ENV_MAX_BYTES ? text : undefined;
}

/**
 * Lambda's context (camelCase, `succeed` / `fail` / `done` bound to this call's
 * completion) plus NanoGrid's names (snake_case, the same in every language).
 */
export function makeContext(complete) {
  const env = process.env;
  const deadlineMs = Number(env.NANOGRID_DEADLINE_MS) || null;
  const remaining = () => (deadlineMs === null ? null : Math.max(0, deadlineMs - Date.now()));
  const jobId = env.JOB_ID ?? '';
  const facts = {
    job_id: jobId,
    function_id: env.FUNCTION_ID ?? '',
    function_name: env.FUNCTION_NAME ?? '',
    handler: env.HANDLER ?? '',
    ai_endpoint: env.AI_ENDPOINT || null,
    output_dir: env.OUTPUT_DIR || null,
    timeout_ms: Number(env.NANOGRID_TIMEOUT_MS) || null,
    deadline_ms: deadlineMs,
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME || facts.function_name,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION || '$LATEST',
    invokedFunctionArn: env.NANOGRID_FUNCTION_ARN ?? '',
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, // a string, as Lambda gives it
    awsRequestId: jobId,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: undefined,
    clientContext: undefined,
    getRemainingTimeInMillis: remaining,
    succeed: (value) => complete(null, value),
    fail: (err) => complete(err ?? new Error('context.fail() was called')),
    done: (err, value) => complete(err, value),
    ...facts,
    get_remaining_time_in_millis: remaining,
    jobId,
    functionId: facts.function_id,
    aiEndpoint: facts.ai_endpoint,
    outputDir: facts.output_dir,
    timeoutMs: facts.timeout_ms,
    deadlineMs,
  };
}

// Resources that come and go on their own (a pending close, the terminal) say nothing about the handler's work.
const TRANSIENT = new Set(['CloseReq', 'TTYWrap', 'FSReqCallback']);

/** Active resources by type (timers, sockets, requests …): Lambda's "event loop" of a call. */
function busy() {
  const counts = new Map();
  for (const r of process.getActiveResourcesInfo()) if (!TRANSIENT.has(r)) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

/**
 * Calls `then` once no kind of resource is more numerous than before the call
 * (its timers fired, its sockets closed): Lambda's "empty event loop". Per kind,
 * so a handle of the runtime's own that closes meanwhile cannot hide a pending timer.
 */
function whenLoopDrains(baseline, then) {
  const check = () => {
    for (const [type, n] of busy()) {
      if (n > (baseline.get(type) ?? 0)) return void setTimeout(check, 2).unref();
    }
    then();
  };
  setImmediate(check);
}

/**
 * A value a sync handler returned as its result: JSON-like, not a timer an
 * arrow function happened to return (`(e, c) => setTimeout(() => c.succeed(1))`).
 */
function isResult(value) {
  if (value === undefined) return false;
  if (value === null || typeof value !== 'object') return true;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === Array.prototype || proto === null;
}

/**
 * Calls a handler the ways Lambda does: a promise (async), the callback or
 * `context.succeed/fail/done`, whichever comes first; a handler that returns
 * nothing and never completes ends with null once its work is done (Lambda's
 * empty event loop). What a handler without a callback parameter returns is
 * its result (NanoGrid's sync handlers); a callback handler's return value is
 * ignored, as on Lambda.
 */
export function invoke(handler, event) {
  return new Promise((resolvePromise, reject) => {
    let settled = false;
    const complete = (err, value) => {
      if (settled) return;
      settled = true;
      if (err !== null && err !== undefined) reject(err);
      else resolvePromise(value === undefined ? null : value);
    };
    const context = makeContext(complete);
    setRequestId(context.awsRequestId);
    const baseline = busy();
    let returned;
    try {
      returned = handler(event, context, complete);
    } catch (err) {
      complete(err);
      return;
    }
    if (returned !== null && typeof returned?.then === 'function') returned.then((v) => complete(null, v), complete);
    else if (handler.length < 3 && isResult(returned)) complete(null, returned);
    else if (!settled) whenLoopDrains(baseline, () => complete(null, null));
  });
}

// --- console: Lambda's `{time}\t{request id}\t{LEVEL}\t{message}` lines (module load: request id "undefined")

let requestId = 'undefined';

export function setRequestId(id) {
  requestId = id;
}

/** Replaces console's methods with Lambda's format, written with `write` (where the call's logs go). */
export function patchConsole(write) {
  const levels = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG' };
  for (const [method, level] of Object.entries(levels)) {
    console[method] = (...args) => write(`${new Date().toISOString()}\t${requestId}\t${level}\t${format(...args)}\n`);
  }
  console.trace = (...args) => {
    const stack = new Error().stack?.split('\n').slice(2).join('\n') ?? '';
    write(`${new Date().toISOString()}\t${requestId}\tTRACE\tTrace: ${format(...args)}\n${stack}\n`);
  };
}

// --- errors

/** Drops NanoGrid's own frames (bootstrap, server, this file) from a stack. */
export function cleanStack(stack) {
  return stack
    .split('\n')
    .filter((line) => !line.includes('__nanogrid_'))
    .join('\n');
}

export function errorOf(err) {
  if (err !== null && typeof err === 'object' && 'message' in err) {
    const ctor = err.constructor?.name;
    // `class MyError extends Error {}` keeps name 'Error': the constructor says more.
    const type =
      typeof err.name === 'string' && err.name !== 'Error' ? err.name : ctor && ctor !== 'Object' ? ctor : 'Error';
    const error = { type, message: String(err.message) };
    if (typeof err.stack === 'string') error.trace = cleanStack(err.stack);
    return error;
  }
  // callback('failed') and context.fail('failed'): Lambda reports the string as the message.
  if (typeof err === 'string') return { type: 'Error', message: err };
  let message;
  try {
    message = JSON.stringify(err) ?? String(err);
  } catch {
    message = String(err);
  }
  return { type: 'Error', message: `a non-Error value was thrown: ${message}` };
}

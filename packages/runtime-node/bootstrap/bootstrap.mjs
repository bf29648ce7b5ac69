// NanoGrid Node bootstrap: loads the user's file, runs it, prints one result envelope.
//
// Copied beside the user's code as `__nanogrid_bootstrap.mjs` and started with
// `node __nanogrid_bootstrap.mjs` in the code directory. No dependencies.
//
// Handler mode: the entry file exports the handler (ESM `export`, or CommonJS
// `exports.handler` / `module.exports = { handler }`, seen through import's
// `default`) → `handler(event, context)` is awaited; what it writes to stdout
// goes to stderr (logs). Script mode: no such export → importing the file ran
// it; what it wrote to stdout until the process exits is the result (JSON when
// it parses, else the text). The envelope is written last with the real write.
import { spawnSync } from 'node:child_process';
import module from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

// Keep in sync with RESULT_MARKER in packages/core/src/plugins/runtime-plugin.ts.
const RESULT_MARKER = '\u001eNANOGRID_RESULT ';
const BOOTSTRAP_NAME = '__nanogrid_bootstrap.mjs';
const maxResultBytes = Number(process.env.NANOGRID_MAX_RESULT_BYTES) || 6 * 1024 * 1024;

// Blocking pipes (where the handle allows it): a process.exit() — the user's or
// ours — must not cut off logs or the envelope still queued in user space.
for (const stream of [process.stdout, process.stderr]) stream._handle?.setBlocking?.(true);
const realWrite = process.stdout.write.bind(process.stdout);
/** loading → handler | script → done */
let state = 'loading';
const captured = [];
let capturedBytes = 0;

function callbackOf(encoding, cb) {
  return typeof encoding === 'function' ? encoding : cb;
}

/** Keeps what the code writes to stdout (the script's result), bounded by the result limit. */
function captureWrite(chunk, encoding, cb) {
  const buf =
    typeof chunk === 'string'
      ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8')
      : Buffer.from(chunk);
  capturedBytes += buf.length;
  if (capturedBytes <= maxResultBytes) captured.push(buf);
  const done = callbackOf(encoding, cb);
  if (done) process.nextTick(done);
  return true;
}

function logWrite(chunk, encoding, cb) {
  return process.stderr.write(chunk, encoding, cb);
}

function parseStdout(text) {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  try {
    return JSON.parse(trimmed);
  } catch {
    return trimmed;
  }
}

function cleanStack(stack) {
  return stack
    .split('\n')
    .filter((line) => !line.includes(BOOTSTRAP_NAME))
    .join('\n');
}

function errorOf(err) {
  if (err !== null && typeof err === 'object' && 'message' in err) {
    const ctor = err.constructor?.name;
    // `class MyError extends Error {}` keeps name 'Error': the constructor says more.
    const type =
      typeof err.name === 'string' && err.name !== 'Error' ? err.name : ctor && ctor !== 'Object' ? ctor : 'Error';
    const error = { type, message: String(err.message) };
    if (typeof err.stack === 'string') error.trace = cleanStack(err.stack);
    return error;
  }
  let message;
  try {
    message = typeof err === 'string' ? err : (JSON.stringify(err) ?? String(err));
  } catch {
    message = String(err);
  }
  return { type: 'Error', message: `a non-Error value was thrown: ${message}` };
}

/**
 * An ES module's SyntaxError carries no file or line; `node --check` prints them.
 * Only on this failure path, so the extra process costs nothing on success.
 */
function withSyntaxLocation(error, err, entryFile) {
  if (!(err instanceof SyntaxError) || (err.stack ?? '').includes(process.cwd())) return error;
  const check = spawnSync(process.execPath, ['--check', entryFile], { encoding: 'utf8', timeout: 10_000 });
  return check.status === 0 || !check.stderr ? error : { ...error, trace: check.stderr.trim() };
}

function failure(type, message) {
  return { ok: false, error: { type, message } };
}

/** The envelope as JSON; a result JSON cannot carry becomes a failure. */
function encode(envelope) {
  try {
    return { ok: envelope.ok, text: JSON.stringify(envelope) };
  } catch (err) {
    return {
      ok: false,
      text: JSON.stringify(
        failure('ResultNotSerializable', `the return value is not JSON-serialisable: ${err.message}`),
      ),
    };
  }
}

/** Writes the envelope once and returns whether it reports success; null when one was already written. */
function writeEnvelope(envelope, then) {
  if (state === 'done') return null;
  state = 'done';
  process.stdout.write = logWrite;
  const { ok, text } = encode(envelope);
  // A failed script's stdout is still worth reading: it goes to the logs.
  if (!ok && captured.length > 0) process.stderr.write(Buffer.concat(captured));
  realWrite(`${RESULT_MARKER + text}\n`, then && (() => then(ok)));
  return ok;
}

function finish(envelope) {
  // Exit once the envelope and the logs before it are out: open sockets or
  // timers left by the handler must not keep a finished job alive.
  writeEnvelope(envelope, (ok) => process.stderr.write('', () => process.exit(ok ? 0 : 1)));
}

function scriptEnvelope() {
  if (capturedBytes > maxResultBytes) {
    return failure(
      'ResultTooLarge',
      `the script printed ${capturedBytes} bytes; the result limit is ${maxResultBytes}`,
    );
  }
  return { ok: true, result: parseStdout(Buffer.concat(captured).toString('utf8')) };
}

/**
 * Invocation facts. The snake_case names are NanoGrid's contract (the same in
 * every language); the camelCase ones are the Lambda names, so ported handlers keep working.
 */
function makeContext() {
  const env = process.env;
  const deadlineMs = Number(env.NANOGRID_DEADLINE_MS) || null;
  const remaining = () => (deadlineMs === null ? null : Math.max(0, deadlineMs - Date.now()));
  const facts = {
    job_id: env.JOB_ID ?? '',
    function_id: env.FUNCTION_ID ?? '',
    function_name: env.FUNCTION_NAME ?? '',
    handler: env.HANDLER ?? '',
    ai_endpoint: env.AI_ENDPOINT || null,
    output_dir: env.OUTPUT_DIR || null,
    timeout_ms: Number(env.NANOGRID_TIMEOUT_MS) || null,
    deadline_ms: deadlineMs,
  };
  return {
    ...facts,
    get_remaining_time_in_millis: remaining,
    jobId: facts.job_id,
    awsRequestId: facts.job_id,
    functionId: facts.function_id,
    functionName: facts.function_name,
    aiEndpoint: facts.ai_endpoint,
    outputDir: facts.output_dir,
    timeoutMs: facts.timeout_ms,
    deadlineMs,
    getRemainingTimeInMillis: remaining,
  };
}

/**
 * Node before 20.19 / 22.7 loads a `.js` file with no `"type": "module"` as
 * CommonJS even when it is written with import/export. Then a load hook marks
 * the code directory's `.js` files that use ESM syntax as modules, and the
 * entry is imported again (a new URL: the failed one stays cached). Node's
 * "To load an ES module…" warning from the first attempt stays in the logs.
 */
async function importEntry(entryFile) {
  const url = pathToFileURL(resolve(entryFile)).href;
  try {
    return await import(url);
  } catch (err) {
    const esmInCjs =
      err instanceof SyntaxError && /import statement outside a module|Unexpected token 'export'/.test(err.message);
    if (!esmInCjs || !entryFile.endsWith('.js') || typeof module.register !== 'function') throw err;
    module.register(`data:text/javascript,${encodeURIComponent(esmHooks(`${pathToFileURL(process.cwd()).href}/`))}`);
    return await import(`${url}?esm`);
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

function findHandler(mod, name) {
  if (name in mod) return mod[name];
  const cjs = mod.default;
  if (cjs !== null && (typeof cjs === 'object' || typeof cjs === 'function') && name in cjs) return cjs[name];
  return undefined;
}

/** Lambda-style `(event, context, callback)` handlers are supported too. */
function call(handler, event, context) {
  if (handler.length < 3) return handler(event, context);
  return new Promise((resolvePromise, reject) => {
    const returned = handler(event, context, (err, value) => (err ? reject(err) : resolvePromise(value)));
    if (returned && typeof returned.then === 'function') returned.then(resolvePromise, reject);
  });
}

process.on('uncaughtException', (err) => finish({ ok: false, error: errorOf(err) }));
process.on('unhandledRejection', (err) => finish({ ok: false, error: errorOf(err) }));
// A script ends when its event loop drains or it calls process.exit(); a handler that calls process.exit() ends here too.
process.on('exit', (code) => {
  if (state === 'done') return;
  const what = state === 'handler' ? 'the handler called process.exit' : 'the script exited';
  if (code !== 0) {
    writeEnvelope(failure('ExitError', `${what} with code ${code}`));
    return;
  }
  const ok = writeEnvelope(state === 'handler' ? { ok: true, result: null } : scriptEnvelope());
  if (!ok) process.exitCode = 1;
});

async function main() {
  const entryFile = process.env.NANOGRID_ENTRY_FILE || 'main.js';
  const handlerName = (process.env.HANDLER || 'main.handler').split('.').pop();
  process.stdout.write = captureWrite;
  let mod;
  try {
    mod = await importEntry(entryFile);
  } catch (err) {
    finish({ ok: false, error: withSyntaxLocation(errorOf(err), err, entryFile) });
    return;
  }
  const handler = findHandler(mod, handlerName);
  if (handler === undefined) {
    state = 'script'; // the import ran it; the 'exit' listener reports its stdout
    return;
  }
  // Handler mode: what the import printed was logging.
  state = 'handler';
  process.stdout.write = logWrite;
  if (captured.length > 0) process.stderr.write(Buffer.concat(captured));
  captured.length = 0;
  if (typeof handler !== 'function') {
    finish(failure('HandlerNotFound', `${entryFile} exports "${handlerName}" but it is not a function`));
    return;
  }
  try {
    const raw = process.env.PAYLOAD ?? '';
    const event = raw.trim() === '' ? {} : JSON.parse(raw);
    const result = await call(handler, event, makeContext());
    finish({ ok: true, result: result === undefined ? null : result });
  } catch (err) {
    finish({ ok: false, error: errorOf(err) });
  }
}

main();

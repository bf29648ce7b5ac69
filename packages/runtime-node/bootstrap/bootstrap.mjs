// NanoGrid Node bootstrap: loads the user's file, runs it, prints one result envelope.
//
// Copied beside the user's code as `__nanogrid_bootstrap.mjs` and started with
// `node __nanogrid_bootstrap.mjs` in the code directory. No dependencies. The
// Lambda side (handler names, loading, context, calling, console) lives in
// `__nanogrid_lambda.mjs`, which the warm server uses too.
//
// Handler mode: the entry file exports something (ESM `export`, or CommonJS
// `exports.handler` / `module.exports = { handler }`) → it is imported, the
// handler named by HANDLER is called with the event read from stdin; what it
// writes to stdout (and console, in Lambda's format) goes to stderr (logs). A
// missing export is HANDLER_NOT_FOUND, a failing import IMPORT_ERROR.
// Script mode: a file that exports nothing → importing it runs it; what it wrote
// to stdout until the process exits is the result (JSON when it parses, else
// the text). The envelope is written last with the real write.
import { spawnSync } from 'node:child_process';
import {
  LoadFailure,
  entryFile as configuredEntryFile,
  errorOf,
  importEntry,
  invoke,
  isScript,
  loadHandler,
  patchConsole,
  prepareProcess,
  readEvent,
} from './__nanogrid_lambda.mjs';

// Keep in sync with RESULT_MARKER in packages/core/src/plugins/runtime-plugin.ts.
const RESULT_MARKER = '\u001eNANOGRID_RESULT ';
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

/**
 * An ES module's SyntaxError carries no file or line; `node --check` prints them.
 * Only on this failure path, so the extra process costs nothing on success.
 */
function withSyntaxLocation(error, err, file) {
  if (!(err instanceof SyntaxError) || (err.stack ?? '').includes(process.cwd())) return error;
  const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000 });
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

async function runScript(file) {
  process.stdout.write = captureWrite;
  try {
    await importEntry(file); // the import runs it; the 'exit' listener reports its stdout
    state = 'script';
  } catch (err) {
    finish({ ok: false, error: withSyntaxLocation(errorOf(err), err, file) });
  }
}

async function runHandler(file) {
  // What the module prints while it loads is logging, in Lambda's format like the rest.
  process.stdout.write = logWrite;
  patchConsole((line) => process.stdout.write(line));
  const event = await readEvent();
  let handler;
  try {
    handler = await loadHandler();
  } catch (err) {
    finish({
      ok: false,
      error: err instanceof LoadFailure ? withSyntaxLocation(err.error, err.cause, file) : errorOf(err),
    });
    return;
  }
  state = 'handler';
  try {
    finish({ ok: true, result: await invoke(handler, event) });
  } catch (err) {
    finish({ ok: false, error: errorOf(err) });
  }
}

prepareProcess();
const file = configuredEntryFile();
let script;
try {
  script = isScript(file);
} catch (err) {
  finish({ ok: false, error: errorOf(err) });
}
if (script === true) await runScript(file);
else if (script === false) await runHandler(file);

// NanoGrid Node warm server: loads the handler once, then serves one invocation per line.
//
// Copied beside the user's code as `__nanogrid_serve.mjs` and started once per warm
// instance. It runs `__nanogrid_lambda.mjs`, the cold bootstrap's own handler
// code: nothing of it is copied here. Protocol (the same as the Python one), one JSON object per line:
//   in  (stdin):  {"env": {"PAYLOAD": "...", "JOB_ID": "...", ...}}   (PAYLOAD: the event, any size)
//   out (stdout): LOG "<chunk>" lines while the call runs (what the handler prints, as a JSON string),
//                 then META {"logs": "...", "outputs": N}  then  RESULT_MARKER {"ok": ..., ...}
// Before each call the temp and output directories are emptied. What the module
// prints while it loads opens the first call's logs; a module that fails to load
// answers each call with IMPORT_ERROR and is tried again on the next (as Lambda
// re-runs a failed init). A file that exports nothing (script mode) runs per
// call in a child `node __nanogrid_bootstrap.mjs`, with the event on its stdin.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import {
  LoadFailure,
  entryFile,
  errorOf,
  invoke,
  isScript,
  loadHandler,
  parseEvent,
  patchConsole,
  prepareProcess,
  payloadEnv,
  setRequestId,
} from './__nanogrid_lambda.mjs';
import { CallEnv, Scratch, setInitEnv, warmUp } from './__nanogrid_warm.mjs';

const META = '\u001eNANOGRID_META ';
// Ends each call's stderr: the host waits for it (Node cannot ask how much of its stderr pipe the host has read, so it
// never reports `stderr` in META, which would let the host skip the wait; see serve.py).
const STDERR_END = '\u001eNANOGRID_STDERR_END\n';
const RESULT = '\u001eNANOGRID_RESULT ';
const LOG = '\u001eNANOGRID_LOG ';
const LOG_TAIL = 64 * 1024;
// Live output sent per call at most; the host keeps less (its per-job cap), this only spares the pipe a flood.
const LIVE_MAX = 16 * 1024 * 1024;
// Prints closer together than this travel as one LOG frame (sent when the event loop next turns).
const LIVE_BATCH_MS = 20;
const realWrite = process.stdout.write.bind(process.stdout);
let logs = [];
// Live output of the current call: only while a call runs, so a frame never comes between calls.
let inCall = false;
let live = '';
let liveSent = 0;
// `performance` loads perf_hooks (11 modules on a Node built without a snapshot) on first use: here, before any
// function is known (a prewarmed spare), not inside its first call.
let lastFlush = performance.now();
let flushTimer;
function flushLive() {
  clearTimeout(flushTimer);
  flushTimer = undefined;
  lastFlush = performance.now();
  if (!inCall || live === '') return;
  realWrite(`${LOG}${JSON.stringify(live)}\n`);
  liveSent += live.length;
  live = '';
}
function addLog(chunk) {
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  logs.push(text);
  if (!inCall || liveSent >= LIVE_MAX) return;
  live += text;
  // At once when the last frame is old (a handler busy between prints still shows them), else batched.
  if (performance.now() - lastFlush >= LIVE_BATCH_MS || live.length >= 64 * 1024) flushLive();
  else flushTimer ??= setTimeout(flushLive, LIVE_BATCH_MS);
}
// Whatever the function prints is this call's logs, never the protocol channel.
process.stdout.write = (chunk, encoding, cb) => {
  addLog(chunk);
  (typeof encoding === 'function' ? encoding : cb)?.();
  return true;
};

// Only directories the sandbox named are emptied: run by hand, this must not wipe the host's /tmp.
const outDir = process.env.OUTPUT_DIR || '';
const tmpDir = process.env.TMPDIR || '';

const tmp = new Scratch(tmpDir);
const out = new Scratch(outDir);
// The instance's own /dev/shm (a tmpfs the sandbox gives each instance, and names): emptied too.
const shm = new Scratch(process.env.NANOGRID_SHM_DIR || '');

function encode(envelope) {
  try {
    return `${RESULT + JSON.stringify(envelope)}\n`;
  } catch (err) {
    return `${RESULT + JSON.stringify({ ok: false, error: { type: 'ResultNotSerializable', message: `the return value is not JSON-serialisable: ${err.message}` } })}\n`;
  }
}

/** Script mode: the bootstrap runs the file in a child, as a cold run would (event on stdin), and its envelope is passed on. */
function runScript(env, event) {
  return new Promise((done) => {
    const childEnv = { ...process.env, ...env };
    delete childEnv.PAYLOAD;
    const small = payloadEnv(event);
    if (small !== undefined) childEnv.PAYLOAD = small;
    const child = spawn(process.execPath, ['__nanogrid_bootstrap.mjs'], {
      env: childEnv,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    child.stdin.on('error', () => {}); // EPIPE: the script did not read its event
    child.stdin.end(event);
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('close', () => {
      const at = out.lastIndexOf(RESULT);
      addLog(at < 0 ? out : out.slice(0, at));
      done(
        at < 0
          ? encode({ ok: false, error: { type: 'ExitError', message: 'the script ended without a result' } })
          : `${out.slice(at).trimEnd()}\n`,
      );
    });
  });
}

const requests = createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
// Imported by a prewarmed starter before any function was known: the first line is the function's env.
if (globalThis.__nanogridPrewarmed) {
  delete globalThis.__nanogridPrewarmed;
  const bootTz = process.env.TZ;
  // While no function is known: what a first call runs, once (Node compiles its internals on first use).
  await warmUp({
    input: process.stdin,
    requests,
    call: () =>
      invoke(() => null, parseEvent('{}')).then((result) =>
        JSON.parse(encode({ ok: true, result }).slice(RESULT.length)),
      ),
    write: realWrite,
    tmp,
    out,
    shm,
  });
  setRequestId('undefined'); // what a module's console sees while it loads
  const init = await requests.next();
  setInitEnv(JSON.parse(init.value ?? '{}').env ?? {}, bootTz);
}
prepareProcess();
const callEnv = new CallEnv();
const script = isScript(entryFile());
let handler;
let attempts = 0;
/** Imports the handler; a failure is kept (and answered) until an import succeeds. */
async function load() {
  try {
    handler = await loadHandler(attempts++);
    return undefined;
  } catch (err) {
    return err instanceof LoadFailure ? err.error : errorOf(err);
  }
}
let loadError;
let firstCall = true;
if (!script) {
  patchConsole((line) => process.stdout.write(line));
  loadError = await load();
}
// The current call fails with an exception its handler did not catch; the instance goes on serving.
let failCurrent;
process.on('uncaughtException', (err) => failCurrent?.(err));
process.on('unhandledRejection', (err) => failCurrent?.(err));

for await (const line of { [Symbol.asyncIterator]: () => requests }) {
  const request = JSON.parse(line);
  const { PAYLOAD: event = '', ...env } = request.env ?? {};
  callEnv.update(env, payloadEnv(event));
  tmp.clear();
  out.clear();
  shm.clear();
  let envelope;
  inCall = !script; // a script's stdout is its result, not logs
  live = '';
  liveSent = 0;
  if (script) {
    logs = [];
    envelope = await runScript(env, event);
  } else {
    // The load before the first call was its attempt; later calls try again while it fails.
    if (handler === undefined && !firstCall) loadError = await load();
    firstCall = false;
    if (handler === undefined) {
      envelope = encode({ ok: false, error: loadError });
    } else {
      try {
        const failed = new Promise((_, reject) => (failCurrent = reject));
        envelope = encode({ ok: true, result: await Promise.race([invoke(handler, parseEvent(event)), failed]) });
      } catch (err) {
        envelope = encode({ ok: false, error: errorOf(err) });
      }
      failCurrent = undefined;
    }
  }
  flushLive();
  inCall = false;
  const text = logs.join('');
  logs = [];
  const answer = `${META + JSON.stringify({ logs: text.length > LOG_TAIL ? text.slice(-LOG_TAIL) : text, outputs: out.count() })}\n${envelope}`;
  // Back to back: the host's reads of both pipes then often share one wake-up.
  process.stderr.write(STDERR_END);
  realWrite(answer);
}

// NanoGrid Node warm server: loads the handler once, then serves one invocation per line.
//
// Copied beside the user's code as `__nanogrid_serve.mjs` and started once per warm
// instance. Protocol (the same as the Python one), one JSON object per line:
//   in  (stdin):  {"env": {"PAYLOAD": "...", "JOB_ID": "...", ...}}
//   out (stdout): META {"logs": "...", "outputs": N}  then  RESULT_MARKER {"ok": ..., ...}
// Before each call the temp and output directories are emptied. A file with no
// handler export (script mode) runs per call in a child `node __nanogrid_bootstrap.mjs`.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const META = '\u001eNANOGRID_META ';
// Ends each call's stderr: the host waits for it when stderr travels apart from the protocol (named pipes).
const STDERR_END = '\u001eNANOGRID_STDERR_END\n';
const RESULT = '\u001eNANOGRID_RESULT ';
const LOG_TAIL = 64 * 1024;
const realWrite = process.stdout.write.bind(process.stdout);
let logs = [];
// Whatever the function prints is this call's logs, never the protocol channel.
process.stdout.write = (chunk, encoding, cb) => {
  logs.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
  (typeof encoding === 'function' ? encoding : cb)?.();
  return true;
};

const entryFile = process.env.NANOGRID_ENTRY_FILE || 'main.js';
const handlerName = (process.env.HANDLER || 'main.handler').split('.').pop();
// Only directories the sandbox named are emptied: run by hand, this must not wipe the host's /tmp.
const outDir = process.env.OUTPUT_DIR || '';
const tmpDir = process.env.TMPDIR || '';

function clear(dir) {
  if (!dir) return;
  let names = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    try {
      rmSync(join(dir, n), { recursive: true, force: true });
    } catch {
      // a mount point or a file the call made read-only: what can go, went
    }
  }
}

function countFiles(dir) {
  if (!dir) return 0;
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n++;
  return n;
}

function context() {
  const env = process.env;
  const deadlineMs = Number(env.NANOGRID_DEADLINE_MS) || null;
  const remaining = () => (deadlineMs === null ? null : Math.max(0, deadlineMs - Date.now()));
  const f = {
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
    ...f,
    get_remaining_time_in_millis: remaining,
    jobId: f.job_id,
    awsRequestId: f.job_id,
    functionId: f.function_id,
    functionName: f.function_name,
    aiEndpoint: f.ai_endpoint,
    outputDir: f.output_dir,
    timeoutMs: f.timeout_ms,
    deadlineMs,
    getRemainingTimeInMillis: remaining,
  };
}

function errorOf(err) {
  if (err instanceof Error)
    return { type: err.name || 'Error', message: err.message, ...(err.stack ? { trace: err.stack } : {}) };
  return { type: typeof err, message: String(err) };
}

function encode(envelope) {
  try {
    return `${RESULT + JSON.stringify(envelope)}\n`;
  } catch (err) {
    return (
      RESULT +
      JSON.stringify({
        ok: false,
        error: { type: 'ResultNotSerializable', message: `the return value is not JSON-serialisable: ${err.message}` },
      }) +
      '\n'
    );
  }
}

/** Script mode: the bootstrap runs the file in a child, as a cold run would, and its envelope is passed on. */
function runScript(env) {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['__nanogrid_bootstrap.mjs'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('close', () => {
      const at = out.lastIndexOf(RESULT);
      logs.push(at < 0 ? out : out.slice(0, at));
      done(
        at < 0
          ? encode({ ok: false, error: { type: 'ExitError', message: 'the script ended without a result' } })
          : `${out.slice(at).trimEnd()}\n`,
      );
    });
  });
}

const source = readFileSync(entryFile, 'utf8');
const looksLikeHandler = new RegExp(`\\b(export|exports|module\\.exports)\\b[\\s\\S]*\\b${handlerName}\\b`).test(
  source,
);
let handler;
if (looksLikeHandler) {
  const mod = await import(pathToFileURL(resolve(entryFile)).href);
  handler = mod[handlerName] ?? mod.default?.[handlerName];
}

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  const request = JSON.parse(line);
  Object.assign(process.env, request.env ?? {});
  clear(tmpDir);
  clear(outDir);
  logs = [];
  let envelope;
  if (typeof handler === 'function') {
    try {
      const raw = process.env.PAYLOAD ?? '';
      const event = raw.trim() ? JSON.parse(raw) : {};
      envelope = encode({ ok: true, result: (await handler(event, context())) ?? null });
    } catch (err) {
      envelope = encode({ ok: false, error: errorOf(err) });
    }
  } else {
    envelope = await runScript(request.env ?? {});
  }
  const text = logs.join('');
  process.stderr.write(STDERR_END);
  realWrite(
    META +
      JSON.stringify({ logs: text.length > LOG_TAIL ? text.slice(-LOG_TAIL) : text, outputs: countFiles(outDir) }) +
      '\n' +
      envelope,
  );
}

import type { JobError } from '../job.js';
import { RESULT_MARKER, type ResultEnvelope } from '../plugins/runtime-plugin.js';
import type { SandboxRunResult } from '../plugins/sandbox.js';

export type RunInterpretation =
  | { ok: true; result: unknown; logs: string; run: SandboxRunResult }
  | { ok: false; error: JobError; logs: string; run: SandboxRunResult };

export interface InterpretLimits {
  timeoutMs: number;
  memoryMb: number;
  maxResultBytes: number;
}

const LOG_TAIL = 64 * 1024;

/** The end of a job's logs as its record keeps them (at most 64 KiB, marked when cut). */
export function logTail(text: string, max = LOG_TAIL): string {
  return text.length > max ? `…${text.slice(text.length - max)}` : text;
}

/** Parses stdout as JSON when it is JSON, else returns it trimmed as a string. */
export function parseStdoutResult(stdout: string): unknown {
  const text = stdout.trim();
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Splits stdout into the envelope line (last one wins) and everything else (logs). */
function findEnvelope(stdout: string): { envelope?: ResultEnvelope; rest: string; bad?: string } {
  const at = stdout.lastIndexOf(RESULT_MARKER);
  if (at < 0) return { rest: stdout };
  const end = stdout.indexOf('\n', at);
  const line = stdout.slice(at + RESULT_MARKER.length, end < 0 ? undefined : end);
  const rest = stdout.slice(0, at) + (end < 0 ? '' : stdout.slice(end + 1));
  try {
    const parsed = JSON.parse(line) as ResultEnvelope;
    if (typeof parsed === 'object' && parsed !== null && typeof parsed.ok === 'boolean')
      return { envelope: parsed, rest };
    return { rest, bad: 'the result envelope is not an object with "ok"' };
  } catch (err) {
    return { rest, bad: `the result envelope is not JSON (${(err as Error).message})` };
  }
}

/**
 * Turns a finished sandbox run into a result or a JobError. Limits come first
 * (a killed run's output is not trusted), then the envelope or raw stdout.
 */
export function interpretRun(
  run: SandboxRunResult,
  protocol: 'envelope' | 'stdout',
  limits: InterpretLimits,
): RunInterpretation {
  const fail = (error: JobError, logs: string): RunInterpretation => ({ ok: false, error, logs: logTail(logs), run });
  if (run.timedOut) {
    return fail(
      { code: 'TIMEOUT', message: `the function ran past its timeout of ${limits.timeoutMs / 1000} s and was killed` },
      run.stderr,
    );
  }
  if (run.oomKilled) {
    return fail(
      {
        code: 'OUT_OF_MEMORY',
        message: `the function used more than its memory limit of ${limits.memoryMb} MB and was killed`,
      },
      run.stderr,
    );
  }
  if (protocol === 'envelope') {
    const { envelope, rest, bad } = findEnvelope(run.stdout);
    const logs = [rest.trim(), run.stderr.trim()].filter(Boolean).join('\n');
    if (envelope?.ok === true) {
      const size = Buffer.byteLength(JSON.stringify(envelope.result ?? null));
      if (size > limits.maxResultBytes) {
        return fail(
          { code: 'RESULT_TOO_LARGE', message: `the result is ${size} bytes; the limit is ${limits.maxResultBytes}` },
          logs,
        );
      }
      return { ok: true, result: envelope.result ?? null, logs: logTail(logs), run };
    }
    if (envelope?.ok === false) {
      const e = envelope.error;
      // Bootstraps report their own limits as error types; those keep the engine's code.
      if (e.type === 'ResultTooLarge') return fail({ code: 'RESULT_TOO_LARGE', message: e.message }, logs);
      // The handler never ran: its module failed to load (with the exception's type), or it has no such handler.
      if (e.code === 'IMPORT_ERROR' || e.code === 'HANDLER_NOT_FOUND') {
        const message = e.code === 'IMPORT_ERROR' ? `${e.type}: ${e.message}` : e.message;
        return fail({ code: e.code, message, type: e.type, ...(e.trace ? { trace: e.trace } : {}) }, logs);
      }
      return fail(
        {
          code: 'FUNCTION_ERROR',
          message: `${e.type}: ${e.message}`,
          type: e.type,
          ...(e.trace ? { trace: e.trace } : {}),
        },
        logs,
      );
    }
    if (run.stdoutTruncated) {
      return fail(
        { code: 'RESULT_TOO_LARGE', message: 'the function printed more than the output cap; its result was lost' },
        logs,
      );
    }
    if (bad) return fail({ code: 'BAD_RESULT', message: bad }, logs);
    return fail(exitError(run), logs);
  }
  // protocol 'stdout': the program's whole stdout is the result.
  if (run.exitCode !== 0) return fail(exitError(run), run.stderr);
  if (run.stdoutTruncated || Buffer.byteLength(run.stdout) > limits.maxResultBytes) {
    return fail(
      { code: 'RESULT_TOO_LARGE', message: `the program printed more than ${limits.maxResultBytes} bytes` },
      run.stderr,
    );
  }
  return { ok: true, result: parseStdoutResult(run.stdout), logs: logTail(run.stderr), run };
}

function exitError(run: SandboxRunResult): JobError {
  const how = run.exitCode !== null ? `exited with code ${run.exitCode}` : `was killed by ${run.signal ?? 'a signal'}`;
  const stderrTail = logTail(run.stderr.trim(), 4000);
  return {
    code: 'NON_ZERO_EXIT',
    message: `the function ${how}${stderrTail ? `: ${stderrTail}` : ' without a result'}`,
  };
}

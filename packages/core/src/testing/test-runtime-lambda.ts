import { expect, it } from 'vitest';
import { DEFAULT_LAMBDA_IDENTITY, functionArn } from '../engine/lambda-env.js';
import type { RuntimeHarness } from './test-runtime.js';

/** Lambda's reserved environment variables every run of a handler gets. */
const RESERVED = [
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'LAMBDA_TASK_ROOT',
  '_HANDLER',
  'TZ',
];

const MiB = 1024 * 1024;
/** An event just under the 6 MiB payload limit: far past what an environment string may hold (128 KiB). */
const bigEvent = () => ({ data: 'x'.repeat(6 * MiB - 64) });

/**
 * The Lambda half of the runtime suite: large events, the context and
 * environment Lambda gives, its log format, handler names, and the errors it
 * reports when a handler cannot run. Runs in both modes (cold and warm).
 */
export function lambdaCases(h: RuntimeHarness): void {
  const { fixtures, runtime } = h;
  const functionName = `conformance-${runtime.name}`;

  it('takes a 6 MiB event: the event never travels only through the environment', async () => {
    const event = bigEvent();
    expect(h.expectOk(await h.run(fixtures.eventSize, event))).toEqual({ size: event.data.length });
  });

  it('gives a script its event on stdin, whatever its size', async () => {
    expect(h.expectOk(await h.run(fixtures.scriptStdin, { data: 'small' }))).toEqual({ size: 5 });
    const event = bigEvent();
    expect(h.expectOk(await h.run(fixtures.scriptStdin, event))).toEqual({ size: event.data.length });
  });

  it("gives the handler Lambda's context attributes and reserved environment variables", async () => {
    const outcome = await h.run(fixtures.lambdaContext, { names: RESERVED });
    const r = h.expectOk(outcome) as Record<string, unknown> & { env: Record<string, string | null> };
    const handler = fixtures.lambdaContext.handler ?? runtime.defaultHandler;
    expect(r).toMatchObject({
      aws_request_id: outcome.jobId,
      invoked_function_arn: functionArn(DEFAULT_LAMBDA_IDENTITY, functionName),
      function_name: functionName,
      function_version: '$LATEST',
      memory_limit_in_mb: '512',
      log_group_name: `/aws/lambda/${functionName}`,
    });
    expect(r.log_stream_name).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    expect(r.remaining_ms).toBeGreaterThan(0);
    expect(r.remaining_ms).toBeLessThanOrEqual(h.timeoutMs);
    expect(r.env).toMatchObject({
      AWS_REGION: DEFAULT_LAMBDA_IDENTITY.region,
      AWS_DEFAULT_REGION: DEFAULT_LAMBDA_IDENTITY.region,
      AWS_LAMBDA_FUNCTION_NAME: functionName,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
      AWS_LAMBDA_LOG_STREAM_NAME: r.log_stream_name,
      _HANDLER: handler,
      TZ: ':UTC',
    });
    expect(r.env.LAMBDA_TASK_ROOT).toMatch(/^\//);
  });

  it("lets the function's own env set its region, never its Lambda facts", async () => {
    const prepared = await h.prepare(fixtures.lambdaContext);
    const env = { AWS_REGION: 'eu-west-3', AWS_LAMBDA_FUNCTION_NAME: 'someone-else', _HANDLER: 'x.y' };
    const r = h.expectOk(await h.call(prepared, { names: RESERVED }, { env })) as { env: Record<string, string> };
    expect(r.env).toMatchObject({ AWS_REGION: 'eu-west-3', AWS_LAMBDA_FUNCTION_NAME: functionName });
    expect(r.env._HANDLER).not.toBe('x.y');
  });

  it("prints the language's log records in Lambda's format, with the request id", async () => {
    const outcome = await h.run(fixtures.lambdaLog, { message: 'conformance log record' });
    expect(h.expectOk(outcome)).toEqual({ logged: true });
    expect(outcome.logs).toMatch(fixtures.lambdaLog.logLine(outcome.jobId, 'conformance log record'));
  });

  it("keeps what the module printed while it loaded in the first call's logs", async () => {
    const prepared = await h.prepare(fixtures.moduleLoad);
    const first = await h.call(prepared, {});
    expect(h.expectOk(first)).toEqual({ ok: true });
    expect(first.logs).toContain('module loaded');
    const second = await h.call(prepared, {});
    expect(h.expectOk(second)).toEqual({ ok: true });
    if (h.mode === 'warm') {
      expect(second.start).toBe('warm');
      expect(second.logs).not.toContain('module loaded');
    }
  });

  it('loads a handler from a module path with folders and "-"', async () => {
    expect(fixtures.dashedPath.handler).toMatch(/\/.*-/);
    expect(h.expectOk(await h.run(fixtures.dashedPath, { name: 'Ada' }))).toEqual({ hello: 'Ada' });
  });

  it('reports a handler the module does not define as HANDLER_NOT_FOUND, never as a script with a null result', async () => {
    const prepared = await h.prepare(fixtures.missingHandler);
    for (let i = 0; i < (h.mode === 'warm' ? 2 : 1); i++) {
      const outcome = await h.call(prepared, {});
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      expect(outcome.error.code).toBe('HANDLER_NOT_FOUND');
      expect(outcome.error.message).toContain(String(fixtures.missingHandler.handler).split('.').pop());
    }
  });

  it("reports a module that fails to load as IMPORT_ERROR with the exception's type, and no NanoGrid frames", async () => {
    const prepared = await h.prepare(fixtures.importError);
    for (let i = 0; i < (h.mode === 'warm' ? 2 : 1); i++) {
      const outcome = await h.call(prepared, {});
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      expect(outcome.error.code).toBe('IMPORT_ERROR');
      expect(outcome.error.type).toBe(fixtures.importError.errorType);
      expect(outcome.error.message).toMatch(/\S/);
      expect(outcome.error.trace ?? '').not.toMatch(/__nanogrid_/);
    }
  });

  it('reports a module that does not parse as IMPORT_ERROR SyntaxError, not as a script', async () => {
    const outcome = await h.run(fixtures.syntaxError, {});
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error).toMatchObject({ code: 'IMPORT_ERROR', type: 'SyntaxError' });
  });

  const { callback, contextSucceed } = fixtures;
  if (callback) {
    it('completes a callback handler through its callback', async () => {
      expect(h.expectOk(await h.run(callback, { value: 7 }))).toEqual({ called: true, value: 7 });
    });
  }
  if (contextSucceed) {
    it('completes an (event, context) handler through context.succeed', async () => {
      expect(h.expectOk(await h.run(contextSucceed, {}))).toEqual({ succeeded: true });
    });
  }
}

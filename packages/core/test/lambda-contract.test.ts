import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  type InvokeRequest,
  PAYLOAD_ENV_MAX_BYTES,
  RESULT_MARKER,
  type RuntimePlugin,
  type Sandbox,
  type SandboxRunSpec,
  functionArn,
  handlerFiles,
  interpretRun,
  invoke,
  isNanoGridError,
  pickEntryFile,
  resolveEngineOptions,
  validateDeploy,
} from '../src/index.js';
import { shRuntime } from './helpers/engine-env.js';

const options = resolveEngineOptions({}, tmpdir());
const python = shRuntime({ name: 'py', runtimes: ['py'], extensions: ['.py'] });
const program = shRuntime({ name: 'prog', runtimes: ['prog'], takesHandler: false, defaultHandler: 'main.main' });

function handlerError(handler: string, plugin: RuntimePlugin = python): string | undefined {
  try {
    validateDeploy(
      { functionName: 'f', runtime: plugin.name, fileName: 'x', data: Buffer.alloc(0), handler },
      [plugin],
      options,
    );
    return undefined;
  } catch (err) {
    if (!isNanoGridError(err, 'VALIDATION_FAILED')) throw err;
    return String(err.details?.['field']);
  }
}

describe("Lambda's handler names", () => {
  it.each([
    'lambda_function.lambda_handler',
    'simple-hello-cli.handler',
    'src/index.handler',
    'app.main.handler',
    'index.handlers.main',
    'a/b-c/d_e.$fn',
  ])('accepts %s', (handler) => {
    expect(handlerError(handler)).toBeUndefined();
  });

  it.each([
    'nodot',
    '../escape.handler',
    '/etc/passwd.handler',
    'a/../b.handler',
    'a..handler',
    '.hidden.handler',
    'x.',
    'a b.handler',
    'x.1fn',
    'a\nb.handler',
    `${'m'.repeat(130)}.handler`,
  ])('refuses %j with VALIDATION_FAILED on handler', (handler) => {
    expect(handlerError(handler)).toBe('handler');
  });

  it('takes any printable value for a program (C++, Go), which has no handler', () => {
    for (const handler of ['main', 'main.main', 'whatever you like', ''])
      expect(handlerError(handler, program)).toBeUndefined();
    expect(handlerError('bad\u0000value', program)).toBe('handler');
    expect(handlerError('x'.repeat(129), program)).toBe('handler');
  });

  it('finds the entry file by the module path, or the runtime rule; a program ignores its handler', () => {
    expect(handlerFiles('src/simple-hello.handler', python)).toEqual(['src/simple-hello.py']);
    expect(handlerFiles('pkg.mod.handler', python)).toEqual(['pkg/mod.py']);
    expect(handlerFiles('nodot', python)).toEqual([]);
    const nodeLike = { ...python, entryFiles: (h: string) => [`${h.split('.')[0]}.js`] };
    expect(handlerFiles('index.handlers.main', nodeLike)).toEqual(['index.js']);
    expect(pickEntryFile(['main.sh', 'other.sh', 'lib/x.sh'], 'other.main', program)).toBe('main.sh');
  });
});

/** A sandbox that records the spec of the one run it is asked for. */
function recordingSandbox(): Sandbox & { spec?: SandboxRunSpec } {
  const sandbox: Sandbox & { spec?: SandboxRunSpec } = {
    name: 'recording',
    isolated: false,
    async run(spec) {
      sandbox.spec = spec;
      return {
        exitCode: 0,
        signal: null,
        stdout: 'null',
        stderr: '',
        stdoutTruncated: false,
        stderrTruncated: false,
        timedOut: false,
        oomKilled: false,
        durationMs: 1,
      };
    },
  };
  return sandbox;
}

function request(payload: unknown, env: Record<string, string> = {}): InvokeRequest {
  return {
    runtime: python,
    fn: { runtime: 'py', handler: 'lambda_function.lambda_handler', entryFile: 'lambda_function.py' },
    codeDir: '/nonexistent',
    outputDir: `/tmp/nanogrid-lambda-contract-${process.pid}`,
    payload,
    jobId: 'job-1',
    functionId: 'fn-1',
    functionName: 'orders',
    timeoutMs: 1000,
    memoryMb: 256,
    network: 'none',
    env,
    lambda: { region: 'eu-west-1', accountId: '111122223333' },
  };
}

describe('the environment and stdin of a run', () => {
  it("puts Lambda's reserved variables in; the function's env may set its region, never the rest", async () => {
    const sandbox = recordingSandbox();
    await invoke(
      sandbox,
      request({ a: 1 }, { AWS_REGION: 'ap-south-1', AWS_LAMBDA_FUNCTION_NAME: 'x', JOB_ID: 'forged' }),
    );
    expect(sandbox.spec?.env).toMatchObject({
      AWS_REGION: 'ap-south-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      AWS_LAMBDA_FUNCTION_NAME: 'orders',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/orders',
      _HANDLER: 'lambda_function.lambda_handler',
      TZ: ':UTC',
      JOB_ID: 'job-1',
      NANOGRID_FUNCTION_ARN: 'arn:aws:lambda:eu-west-1:111122223333:function:orders',
      PAYLOAD: '{"a":1}',
    });
    expect(functionArn({ region: 'us-east-1', accountId: '123456789012' }, 'f', 'live')).toBe(
      'arn:aws:lambda:us-east-1:123456789012:function:f:live',
    );
  });

  it('sends the event on stdin always, and in PAYLOAD only while it fits an environment string', async () => {
    const small = recordingSandbox();
    await invoke(small, request({ name: 'Ada' }));
    expect(small.spec?.stdin).toBe('{"name":"Ada"}');
    expect(small.spec?.env.PAYLOAD).toBe('{"name":"Ada"}');
    const big = recordingSandbox();
    const payload = { data: 'x'.repeat(PAYLOAD_ENV_MAX_BYTES) };
    await invoke(big, request(payload));
    expect(big.spec?.stdin).toBe(JSON.stringify(payload));
    expect(big.spec?.env).not.toHaveProperty('PAYLOAD');
  });
});

describe('load failures reported by a bootstrap', () => {
  const run = (error: object) => ({
    exitCode: 1,
    signal: null,
    stdout: `${RESULT_MARKER}${JSON.stringify({ ok: false, error })}\n`,
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    timedOut: false,
    oomKilled: false,
    durationMs: 1,
  });
  const limits = { timeoutMs: 1000, memoryMb: 128, maxResultBytes: 1024 };

  it('keep their engine code and the exception type; other errors stay FUNCTION_ERROR', () => {
    const imp = interpretRun(
      run({ type: 'KeyError', message: "Unable to import module 'm': 'X'", code: 'IMPORT_ERROR' }),
      'envelope',
      limits,
    );
    expect(imp).toMatchObject({
      ok: false,
      error: { code: 'IMPORT_ERROR', type: 'KeyError', message: "KeyError: Unable to import module 'm': 'X'" },
    });
    const missing = interpretRun(
      run({ type: 'Runtime.HandlerNotFound', message: 'no', code: 'HANDLER_NOT_FOUND' }),
      'envelope',
      limits,
    );
    expect(missing).toMatchObject({ ok: false, error: { code: 'HANDLER_NOT_FOUND', message: 'no' } });
    const forged = interpretRun(run({ type: 'Boom', message: 'x', code: 'TIMEOUT' }), 'envelope', limits);
    expect(forged).toMatchObject({ ok: false, error: { code: 'FUNCTION_ERROR', type: 'Boom' } });
  });
});

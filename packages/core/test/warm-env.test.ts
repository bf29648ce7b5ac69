import { describe, expect, it } from 'vitest';
import { type InvokeRequest, invocationEnv, warmEnv } from '../src/index.js';
import { shRuntime } from './helpers/engine-env.js';

const req = (over: Partial<InvokeRequest> = {}): InvokeRequest => ({
  runtime: shRuntime({ env: { RUNTIME_ONLY: '1', JOB_ID: 'the runtime cannot set this' } }),
  fn: { runtime: 'sh', handler: 'main.handler', entryFile: 'main.sh' },
  codeDir: '/code',
  outputDir: '/out',
  payload: { a: [1, 'two'], nested: { ok: true } },
  jobId: 'job-1',
  functionId: 'fn-1',
  functionName: 'envy',
  timeoutMs: 30_000,
  memoryMb: 256,
  network: 'none',
  // The function's own env may not override the per-call names either.
  env: { MINE: 'x', PAYLOAD: 'spoofed', NANOGRID_DEADLINE_MS: '0', AWS_REGION: 'eu-west-3' },
  lambda: { region: 'eu-west-1', accountId: '123456789012' },
  ...over,
});

describe('warmEnv: a warm call environment in two parts', () => {
  it('is invocationEnv split into the per-call names and the fixed rest, name for name', () => {
    for (const r of [
      req(),
      req({ payload: undefined, env: undefined, lambda: undefined, aiEndpoint: 'http://ai:8080' }),
    ]) {
      const t = 1_700_000_000_000;
      const whole = invocationEnv(r, t);
      const parts = warmEnv(r, t);
      // The log stream's name is random each time an environment is built (one per instance, as Lambda's).
      const stream = /^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/;
      expect(parts.fixed().AWS_LAMBDA_LOG_STREAM_NAME).toMatch(stream);
      expect({ ...parts.fixed(), ...parts.invocation, AWS_LAMBDA_LOG_STREAM_NAME: 's' }).toEqual({
        ...whole,
        AWS_LAMBDA_LOG_STREAM_NAME: 's',
      });
      expect(Object.keys(parts.invocation).sort()).toEqual(
        ['JOB_ID', 'NANOGRID_DEADLINE_MS', 'NANOGRID_FUNCTION_ARN', 'NANOGRID_TIMEOUT_MS', 'PAYLOAD'].sort(),
      );
      for (const k of Object.keys(parts.invocation)) expect(parts.fixed()).not.toHaveProperty(k);
      expect(parts.invocation.PAYLOAD).toBe(JSON.stringify(r.payload ?? {}));
      expect(parts.fixed()).toBe(parts.fixed()); // built once
    }
  });

  it('a function env named __proto__ (JSON-parsed, as a stored function has it) reaches the run as a variable', () => {
    // Object.assign sets `__proto__` through its setter (a string is then ignored); a spread kept it as a name.
    const env = JSON.parse('{"__proto__": "kept", "MINE": "x"}') as Record<string, string>;
    const t = 1_700_000_000_000;
    const whole = invocationEnv(req({ env }), t);
    expect(Object.hasOwn(whole, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(JSON.parse(JSON.stringify(whole)), '__proto__')?.value).toBe('kept');
    expect(Object.getPrototypeOf(whole)).toBe(Object.prototype);
    const fixed = warmEnv(req({ env }), t).fixed();
    expect(Object.hasOwn(fixed, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(fixed)).toBe(Object.prototype);
  });
});

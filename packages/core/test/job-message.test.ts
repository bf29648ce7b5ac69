import { describe, expect, it } from 'vitest';
import { parseJobMessage, serializeJobMessage } from '../src/job-message.js';
import type { JobMessage } from '../src/job.js';

const original: JobMessage = {
  job_id: 'job-1',
  function_id: 'fn_1',
  s3_key: 'functions/fn_1/code.zip',
  runtime: 'python3.9',
  handler: 'main.handler',
  payload: { name: 'World' },
  timeout: 300,
};

const expectBad = (body: unknown, field?: string) => {
  try {
    parseJobMessage(body);
  } catch (err) {
    expect(err).toMatchObject({ code: 'BAD_MESSAGE' });
    if (field) expect((err as { details?: { field?: string } }).details?.field).toBe(field);
    return;
  }
  throw new Error(`accepted ${JSON.stringify(body)}`);
};

describe('parseJobMessage — original shape', () => {
  it('accepts the object and its JSON text alike', () => {
    expect(parseJobMessage(original)).toEqual(original);
    expect(parseJobMessage(JSON.stringify(original))).toEqual(original);
    expect(parseJobMessage(Buffer.from(JSON.stringify(original)))).toEqual(original);
  });

  it('keeps memory_mb and submitted_at, drops unknown fields, defaults payload to {}', () => {
    const { payload: _p, ...noPayload } = original;
    expect(parseJobMessage({ ...noPayload, memory_mb: 512, submitted_at: '2024-01-01T00:00:00Z', extra: 1 })).toEqual({
      ...noPayload,
      payload: {},
      memory_mb: 512,
      submitted_at: '2024-01-01T00:00:00Z',
    });
  });

  it('keeps any JSON payload, null included', () => {
    expect(parseJobMessage({ ...original, payload: null }).payload).toBeNull();
    expect(parseJobMessage({ ...original, payload: [1, 'a'] }).payload).toEqual([1, 'a']);
  });

  it('keeps a completion callback and refuses an unknown callback_format', () => {
    const withHook = { ...original, callback_url: 'https://hooks.example.com/x', callback_format: 'slack' as const };
    expect(parseJobMessage(serializeJobMessage(withHook))).toEqual(withHook);
    expectBad({ ...original, callback_url: 'https://hooks.example.com/x', callback_format: 'xml' }, 'callback_format');
    expectBad({ ...original, callback_url: 42 }, 'callback_url');
  });

  it('needs only job_id and function_id', () => {
    expect(parseJobMessage({ job_id: 'a', function_id: 'b' })).toEqual({ job_id: 'a', function_id: 'b', payload: {} });
  });

  it('accepts a numeric string timeout (form fields are text)', () => {
    expect(parseJobMessage({ ...original, timeout: '30' }).timeout).toBe(30);
  });
});

describe('parseJobMessage — "NanoGrid Plus" shape', () => {
  const plus = {
    requestId: 'req-9',
    functionId: 'fn-9',
    runtime: 'nodejs18.x',
    s3Bucket: 'code-bucket',
    s3Key: 'functions/fn-9/code.zip',
    timeoutMs: 45_000,
    memoryMb: 256,
  };

  it('maps requestId/functionId/s3Key/timeoutMs/memoryMb to the original fields', () => {
    expect(parseJobMessage(plus)).toEqual({
      job_id: 'req-9',
      function_id: 'fn-9',
      runtime: 'nodejs18.x',
      s3_key: 'functions/fn-9/code.zip',
      timeout: 45,
      memory_mb: 256,
      payload: {},
    });
    expect(parseJobMessage(JSON.stringify(plus))).toEqual(parseJobMessage(plus));
  });

  it('keeps a payload and handler when the producer sends them', () => {
    expect(parseJobMessage({ ...plus, payload: { x: 1 }, handler: 'index.handler' })).toMatchObject({
      payload: { x: 1 },
      handler: 'index.handler',
    });
  });

  it('names the Plus field that is wrong', () => {
    expectBad({ ...plus, requestId: undefined }, 'requestId');
    expectBad({ ...plus, functionId: 42 }, 'functionId');
    expectBad({ ...plus, timeoutMs: -1 }, 'timeoutMs');
    expectBad({ ...plus, memoryMb: 'lots' }, 'memoryMb');
    expectBad({ ...plus, s3Bucket: 7 }, 's3Bucket');
  });
});

describe('parseJobMessage — garbage', () => {
  it('rejects text that is not JSON, and JSON that is not an object', () => {
    for (const body of ['not json {', '', '[1,2]', '"job"', '42', 'null', 42, null, undefined, [], true])
      expectBad(body);
  });

  it('names the missing or mistyped field', () => {
    expectBad({ function_id: 'fn' }, 'job_id');
    expectBad({ job_id: 'j' }, 'function_id');
    expectBad({ ...original, job_id: '' }, 'job_id');
    expectBad({ ...original, job_id: 12 }, 'job_id');
    expectBad({ ...original, runtime: 3 }, 'runtime');
    expectBad({ ...original, handler: {} }, 'handler');
    expectBad({ ...original, timeout: 0 }, 'timeout');
    expectBad({ ...original, timeout: 'soon' }, 'timeout');
    expectBad({ ...original, memory_mb: Number.NaN }, 'memory_mb');
  });

  it('rejects ids that could climb out of a storage prefix', () => {
    for (const id of ['../etc', 'a/b', 'a b', 'x'.repeat(129), '.']) expectBad({ ...original, job_id: id }, 'job_id');
    expectBad({ ...original, function_id: '../../x' }, 'function_id');
  });
});

describe('serializeJobMessage', () => {
  it('round-trips through parseJobMessage', () => {
    expect(parseJobMessage(serializeJobMessage(original))).toEqual(original);
  });

  it('refuses to serialise an invalid job', () => {
    expect(() => serializeJobMessage({ ...original, job_id: '' })).toThrow(
      expect.objectContaining({ code: 'BAD_MESSAGE' }),
    );
  });
});

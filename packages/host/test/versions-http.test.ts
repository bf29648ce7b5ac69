import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ErrorJson, type TestHost, makeHost, run, upload } from './helpers.js';

type Json = Record<string, unknown>;

const says = (word: string) => `def handler(event, context):\n    return {"word": "${word}"}\n`;

describe('versions and aliases over HTTP', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await makeHost();
  });
  afterAll(async () => {
    await host?.close();
  });

  const deploy = async (word: string, extra: Record<string, string> = {}) => {
    const res = await upload(host.app, {
      file: { name: 'main.py', content: says(word) },
      function_name: 'word',
      runtime: 'python3.11',
      ...extra,
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const json = async (path: string, init?: RequestInit) => {
    const res = await host.app.request(path, init);
    return { status: res.status, body: (await res.json()) as Json };
  };
  const put = (path: string, body: unknown) =>
    json(path, { method: 'PUT', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

  it('a second upload of a name is version 2 of the same function; /run takes a name, name:version, name:alias or the id', async () => {
    const v1 = await deploy('one');
    const v2 = await deploy('two');
    expect(v1).toMatchObject({ status: 201, body: { function_name: 'word', version: 1 } });
    expect(v2).toMatchObject({
      status: 201,
      body: { function_name: 'word', version: 2, function_id: v1.body['function_id'] },
    });
    for (const key of ['function_id', 'function_name', 's3_key', 'created_at']) expect(v2.body).toHaveProperty(key);

    expect(await put('/functions/word/aliases/prod', { version: 1 })).toMatchObject({
      status: 200,
      body: { alias: 'prod', version: 1, function_name: 'word' },
    });
    const runs: [unknown, string][] = [
      [{ function: 'word' }, 'two'],
      [{ function: 'word:1' }, 'one'],
      [{ function: 'word:prod' }, 'one'],
      [{ function_id: v1.body['function_id'] }, 'two'],
      [{ function_id: 'word:2' }, 'two'],
    ];
    for (const [body, word] of runs) {
      const res = await run(host.app, { ...(body as object), payload: {} });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'completed', result: { word }, function_name: 'word' });
    }
    const versions = await json('/functions/word/versions');
    expect(versions.status).toBe(200);
    expect((versions.body['versions'] as Json[]).map((v) => v['version'])).toEqual([1, 2]);
    expect(versions.body['aliases']).toMatchObject([{ alias: 'prod', version: 1 }]);
    expect((await json('/functions/word:prod')).body).toMatchObject({ version: 1 });
    expect((await json('/functions/word/aliases')).body).toMatchObject({ aliases: [{ alias: 'prod', version: 1 }] });
  });

  it('a failed upload keeps the previous version serving', async () => {
    const before = (await json('/functions/word')).body['version'];
    const bad = await deploy('x', { runtime: 'cobol85' });
    expect(bad.status).toBe(400);
    expect((bad.body as ErrorJson).error.code).toBe('RUNTIME_NOT_FOUND');
    expect((await json('/functions/word')).body['version']).toBe(before);
  });

  it('bad references, aliases and versions are clear errors', async () => {
    const code = (r: { body: Json }) => (r.body as ErrorJson).error;
    expect(code(await put('/functions/word/aliases/prod', { version: 99 }))).toMatchObject({
      code: 'FUNCTION_NOT_FOUND',
    });
    expect(code(await put('/functions/word/aliases/prod', { version: 'x' }))).toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'version',
    });
    expect(code(await put('/functions/word/aliases/9lives', { version: 1 }))).toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'alias',
    });
    expect(code(await put('/functions/word/aliases/prod', 'nope'))).toMatchObject({ code: 'BAD_JSON' });
    expect(code(await put('/functions/ghost/aliases/prod', { version: 1 }))).toMatchObject({
      code: 'FUNCTION_NOT_FOUND',
    });
    const runRes = await run(host.app, { function: 'word:a:b', payload: {} });
    expect(runRes.status).toBe(400);
    expect(((await runRes.json()) as ErrorJson).error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'function' });
    const both = await run(host.app, { function: 'word', function_id: 'word', payload: {} });
    expect(((await both.json()) as ErrorJson).error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'function' });
    const none = await run(host.app, { payload: {} });
    expect(((await none.json()) as ErrorJson).error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'function' });
    expect(code(await json('/functions/word:ghost'))).toMatchObject({ code: 'FUNCTION_NOT_FOUND' });
  });

  it('deletes an alias, a version, then the function', async () => {
    expect((await json('/functions/word:1', { method: 'DELETE' })).status).toBe(409); // prod points at it
    expect(await json('/functions/word/aliases/prod', { method: 'DELETE' })).toMatchObject({
      status: 200,
      body: { deleted: true },
    });
    expect(await json('/functions/word:1', { method: 'DELETE' })).toMatchObject({
      status: 200,
      body: { version: 1, deleted: true },
    });
    expect(await json('/functions/word', { method: 'DELETE' })).toMatchObject({
      status: 200,
      body: { function_name: 'word', deleted: true },
    });
    expect((await json('/functions/word')).status).toBe(404);
  });
});

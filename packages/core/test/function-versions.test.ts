import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FunctionStore, fsStorage, functionIdOf, isNanoGridError, parseFunctionRef } from '../src/index.js';
import { type EngineEnv, engineEnv, src } from './helpers/engine-env.js';

async function rejects(
  p: Promise<unknown>,
): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    if (isNanoGridError(err))
      return { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
    throw err;
  }
  throw new Error('expected a NanoGridError');
}

const says = (word: string) => src(`echo '{"v":"${word}","env":"'"$MODE"'"}'\n`);

describe('function versions and aliases', () => {
  let env: EngineEnv;
  beforeAll(async () => {
    env = await engineEnv({}, false);
  });
  afterAll(async () => {
    await env?.close();
  });
  const deploy = (name: string, word: string, extra: object = {}) =>
    env.ng.registry.deploy({ functionName: name, runtime: 'sh', fileName: 'f.sh', data: says(word), ...extra });

  it('a deploy of an existing name is version n+1 of the same function; the name, the id and name:n resolve', async () => {
    const v1 = await deploy('greet', 'one');
    const v2 = await deploy('greet', 'two');
    expect(v1).toMatchObject({ version: 1, function_id: functionIdOf('greet') });
    expect(v2).toMatchObject({
      version: 2,
      function_id: v1.function_id,
      s3_key: `functions/${v1.function_id}/versions/2/code.zip`,
    });
    expect((await env.ng.registry.get('greet')).version).toBe(2);
    expect((await env.ng.registry.get(v1.function_id)).version).toBe(2);
    expect((await env.ng.registry.get('greet:1')).code_sha256).toBe(v1.code_sha256);
    expect((await env.ng.registry.get(`${v1.function_id}:latest`)).version).toBe(2);
    const { versions } = await env.ng.registry.versions('greet');
    expect(versions.map((m) => m.version)).toEqual([1, 2]);
    expect((await env.ng.registry.list()).filter((m) => m.function_name === 'greet').map((m) => m.version)).toEqual([
      2,
    ]);
  });

  it('aliases point at versions, move, and refuse bad names and missing versions', async () => {
    await deploy('aliased', 'one');
    await deploy('aliased', 'two');
    expect(await env.ng.registry.setAlias('aliased', 'prod', 1)).toMatchObject({
      alias: 'prod',
      version: 1,
      function_name: 'aliased',
    });
    expect((await env.ng.registry.get('aliased:prod')).version).toBe(1);
    await env.ng.registry.setAlias('aliased', 'prod', '2');
    expect((await env.ng.registry.get('aliased:prod')).version).toBe(2);
    expect((await env.ng.registry.versions('aliased')).aliases).toMatchObject([{ alias: 'prod', version: 2 }]);

    expect(await rejects(env.ng.registry.setAlias('aliased', 'prod', 9))).toMatchObject({
      code: 'FUNCTION_NOT_FOUND',
      details: { version: 9 },
    });
    expect(await rejects(env.ng.registry.setAlias('aliased', 'prod', 'two'))).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'version' },
    });
    for (const bad of ['7up', 'latest', '../x', 'a b', '']) {
      expect(await rejects(env.ng.registry.setAlias('aliased', bad, 1))).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: { field: 'alias' },
      });
    }
    expect((await rejects(env.ng.registry.get('aliased:staging'))).code).toBe('FUNCTION_NOT_FOUND');
    expect((await rejects(env.ng.registry.setAlias('nobody', 'prod', 1))).code).toBe('FUNCTION_NOT_FOUND');
  });

  it('hostile references are VALIDATION_FAILED or FUNCTION_NOT_FOUND, never a storage path', async () => {
    for (const ref of ['../../etc/passwd', 'a:b:c', 'x/y', 'greet:0', 'greet:-1', 'greet: 1', '']) {
      expect((await rejects(env.ng.registry.get(ref))).code).toBe('VALIDATION_FAILED');
    }
    expect((await rejects(env.ng.registry.get('greet:99'))).code).toBe('FUNCTION_NOT_FOUND');
    expect(parseFunctionRef('greet:$LATEST').qualifier).toEqual({ kind: 'latest' });
    // A name shaped like an id would shadow the function that has that id.
    const greetId = functionIdOf('greet');
    expect(await rejects(deploy(greetId, 'shadow'))).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'function_name' },
    });
    expect((await env.ng.registry.get(greetId)).function_name).toBe('greet');
  });

  it('a failed deploy leaves the previous version serving, and claims no version', async () => {
    const ok = await deploy('steady', 'one');
    expect(
      (
        await rejects(
          env.ng.registry.deploy({
            functionName: 'steady',
            runtime: 'sh-built',
            fileName: 'b.sh',
            data: src('if then fi (\n'),
          }),
        )
      ).code,
    ).toBe('BUILD_FAILED');
    expect((await rejects(deploy('steady', 'x', { fileName: 'x.zip', data: src('not a zip') }))).code).toBe(
      'BAD_ARCHIVE',
    );
    expect((await rejects(deploy('steady', 'x', { runtime: 'cobol' }))).code).toBe('RUNTIME_NOT_FOUND');
    expect(await env.ng.registry.get('steady')).toEqual(ok);
    expect((await deploy('steady', 'two')).version).toBe(2);
  });

  it('deleting a version an alias points at is a CONFLICT; a version and a whole function can be deleted', async () => {
    await deploy('temp', 'one');
    await deploy('temp', 'two');
    await env.ng.registry.setAlias('temp', 'live', 1);
    expect((await rejects(env.ng.registry.delete('temp:1'))).code).toBe('CONFLICT');
    expect((await rejects(env.ng.registry.delete('temp:live'))).code).toBe('VALIDATION_FAILED');
    await env.ng.registry.deleteAlias('temp', 'live');
    expect((await env.ng.registry.delete('temp:1')).version).toBe(1);
    expect((await env.ng.registry.versions('temp')).versions.map((m) => m.version)).toEqual([2]);
    expect((await deploy('temp', 'three')).version).toBe(3); // numbers are never reused
    await env.ng.registry.delete('temp');
    expect((await rejects(env.ng.registry.get('temp'))).code).toBe('FUNCTION_NOT_FOUND');
    expect((await env.ng.storage.list(`functions/${functionIdOf('temp')}/`)).length).toBe(0);
  });

  it('a job runs the version it was submitted for, even when a newer one is deployed before a worker takes it', async () => {
    await deploy('pinned', 'one', { env: { MODE: 'a' } });
    const first = await env.ng.jobs.submit('pinned', {});
    await deploy('pinned', 'two', { env: { MODE: 'b' } });
    const second = await env.ng.jobs.submit('pinned', {});
    const byAlias = await env.ng.jobs.submit('pinned:1', {});
    expect(first.record).toMatchObject({ function_name: 'pinned', function_version: 1 });
    env.ng.worker?.start();
    const [a, b, c] = await Promise.all(
      [first, second, byAlias].map((s) => env.ng.jobs.wait(s.record.job_id, { timeoutMs: 20_000 })),
    );
    expect(a).toMatchObject({ status: 'completed', result: { v: 'one', env: 'a' }, function_version: 1 });
    expect(b).toMatchObject({ status: 'completed', result: { v: 'two', env: 'b' }, function_version: 2 });
    expect(c).toMatchObject({ status: 'completed', result: { v: 'one', env: 'a' } });
  });
});

describe('concurrent deploys of one name', () => {
  let a: EngineEnv;
  let b: EngineEnv;
  beforeAll(async () => {
    a = await engineEnv({}, false);
    // A second engine on the same storage directory: another controller.
    b = await engineEnv({ storage: fsStorage({ dir: join(a.dir, 'storage') }) }, false);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('never hand out one version number twice, across controllers', async () => {
    const deploys = Array.from({ length: 8 }, (_, i) =>
      (i % 2 ? a : b).ng.registry.deploy({
        functionName: 'race',
        runtime: 'sh',
        fileName: 'r.sh',
        data: says(`w${i}`),
      }),
    );
    const metas = await Promise.all(deploys);
    const versions = metas.map((m) => m.version);
    expect(new Set(versions).size).toBe(8);
    const stored = await new FunctionStore(a.ng.storage).scan(functionIdOf('race'));
    expect(stored.committed).toEqual([...versions].sort((x, y) => x - y));
    // Each stored version holds the code its deploy sent.
    for (const m of metas) expect((await a.ng.registry.get(`race:${m.version}`)).code_sha256).toBe(m.code_sha256);
  });

  it('a version another controller committed is found at once, though the list is still cached here', async () => {
    const one = await a.ng.registry.deploy({ functionName: 'seen', runtime: 'sh', fileName: 's.sh', data: says('1') });
    expect((await a.ng.registry.get('seen')).version).toBe(one.version); // a's list of versions is cached now
    const two = await b.ng.registry.deploy({ functionName: 'seen', runtime: 'sh', fileName: 's.sh', data: says('2') });
    expect((await a.ng.registry.get(`seen:${two.version}`)).code_sha256).toBe(two.code_sha256);
    const err = await a.ng.registry.get(`seen:${two.version + 1}`).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FUNCTION_NOT_FOUND' });
    expect(String((err as Error).message)).toContain(`its versions: ${one.version}, ${two.version}`);
  });
});

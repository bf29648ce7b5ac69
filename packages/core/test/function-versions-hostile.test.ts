import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type EngineEnv, engineEnv, src } from './helpers/engine-env.js';

/**
 * A version the cached list lacks is listed again in storage before FUNCTION_NOT_FOUND (another controller may
 * have committed it). A client asking for versions that do not exist, as fast as it can, must not turn each of
 * its requests into a storage listing (a LIST call each on S3 or GCS, paid for and on the event loop's path).
 */
describe('missing versions asked for in a loop', () => {
  let env: EngineEnv;
  beforeAll(async () => {
    env = await engineEnv({}, false);
  });
  afterAll(async () => {
    await env?.close();
  });

  it('cost at most one storage listing per function and second, and each still answers FUNCTION_NOT_FOUND', async () => {
    await env.ng.registry.deploy({ functionName: 'probe', runtime: 'sh', fileName: 'f.sh', data: src('echo 1\n') });
    await env.ng.registry.get('probe'); // its list of versions is cached now
    const list = vi.spyOn(env.ng.storage, 'list');
    try {
      const ask = (n: number) =>
        env.ng.registry.get(`probe:${n}`).then(
          () => 'found',
          (err: { code?: string }) => err.code,
        );
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => ask(100 + i)));
      for (let i = 0; i < 50; i++) answers.push(await ask(200 + i));
      expect(new Set(answers)).toEqual(new Set(['FUNCTION_NOT_FOUND']));
      expect(list.mock.calls.length).toBeLessThanOrEqual(2);
    } finally {
      list.mockRestore();
    }
  });
});

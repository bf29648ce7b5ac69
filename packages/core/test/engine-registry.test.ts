import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { ZipFile } from 'yazl';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { codeKey, createZip, isNanoGridError, metaKey } from '../src/index.js';
import { type EngineEnv, engineEnv, src } from './helpers/engine-env.js';

const ECHO = 'cat\n';

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

/** yazl refuses `..` in names, so the name is patched in the bytes afterwards (same length). */
async function traversalZip(): Promise<Buffer> {
  const zip = new ZipFile();
  zip.addBuffer(Buffer.from('echo pwned'), 'xx/evil.sh');
  zip.end();
  const buf = await buffer(zip.outputStream);
  return Buffer.from(buf.toString('latin1').replaceAll('xx/evil.sh', '../evil.sh'), 'latin1');
}

describe('FunctionRegistry', () => {
  let env: EngineEnv;
  beforeAll(async () => {
    env = await engineEnv({ limits: { maxArchiveBytes: 1024 * 1024, maxTimeoutSec: 600 } }, false);
  });
  afterAll(async () => {
    await env?.close();
  });

  it('deploys one source file: code.zip + meta.json in storage, defaults filled in', async () => {
    const meta = await env.ng.registry.deploy({
      functionName: 'echo',
      runtime: 'sh',
      fileName: 'echo.sh',
      data: src(ECHO),
      env: { MODE: 'x' },
    });
    expect(meta).toMatchObject({
      function_name: 'echo',
      runtime: 'sh',
      runtime_plugin: 'sh',
      handler: 'main.handler',
      entry_file: 'echo.sh',
      timeout: 300,
      memory_mb: 512,
      disk_mb: 512,
      network: 'none',
      env: { MODE: 'x' },
    });
    expect(meta.s3_key).toBe(`functions/${meta.function_id}/versions/1/code.zip`);
    expect(meta.version).toBe(1);
    expect(meta.code_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await env.ng.storage.head(codeKey(meta.function_id, meta.version))).toMatchObject({ size: meta.code_size });
    const stored = JSON.parse(
      (await buffer(await env.ng.storage.get(metaKey(meta.function_id, meta.version)))).toString(),
    ) as unknown;
    expect(stored).toEqual(meta);
    expect(await env.ng.registry.get(meta.function_id)).toEqual(meta);
  });

  it('the same source deploys to the same code hash (deterministic zip)', async () => {
    const a = await env.ng.registry.deploy({ functionName: 'a', runtime: 'sh', fileName: 'same.sh', data: src(ECHO) });
    const b = await env.ng.registry.deploy({ functionName: 'b', runtime: 'sh', fileName: 'same.sh', data: src(ECHO) });
    expect(a.function_id).not.toBe(b.function_id);
    expect(a.code_sha256).toBe(b.code_sha256);
  });

  it('picks the entry file of a zip from the handler, else its only source file', async () => {
    const zip = await createZip([
      { path: 'lib/util.sh', data: 'x=1\n' },
      { path: 'app/main.sh', data: ECHO },
    ]);
    const byHandler = await env.ng.registry.deploy({
      functionName: 'z1',
      runtime: 'sh',
      fileName: 'code.zip',
      data: zip,
      handler: 'app.main.handler',
    });
    expect(byHandler.entry_file).toBe('app/main.sh');
    const only = await env.ng.registry.deploy({
      functionName: 'z2',
      runtime: 'sh',
      fileName: 'code.zip',
      data: await createZip([{ path: 'run.sh', data: ECHO }]),
    });
    expect(only.entry_file).toBe('run.sh');
    const none = await rejects(
      env.ng.registry.deploy({
        functionName: 'z3',
        runtime: 'sh',
        fileName: 'code.zip',
        data: zip,
        handler: 'nope.handler',
      }),
    );
    expect(none.code).toBe('HANDLER_NOT_FOUND');
    expect(none.message).toContain('nope.sh');
  });

  it('refuses bad archives, each with its own code, and stores nothing', async () => {
    const before = (await env.ng.storage.list('functions/')).length;
    expect(
      (
        await rejects(
          env.ng.registry.deploy({ functionName: 't', runtime: 'sh', fileName: 'x.zip', data: await traversalZip() }),
        )
      ).code,
    ).toBe('ARCHIVE_PATH_TRAVERSAL');
    const bomb = await createZip([{ path: 'main.sh', data: Buffer.alloc(4 * 1024 * 1024) }]);
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect(
      (await rejects(env.ng.registry.deploy({ functionName: 'b', runtime: 'sh', fileName: 'x.zip', data: bomb }))).code,
    ).toBe('ARCHIVE_TOO_LARGE');
    expect(
      (
        await rejects(
          env.ng.registry.deploy({ functionName: 'n', runtime: 'sh', fileName: 'x.zip', data: src('not a zip') }),
        )
      ).code,
    ).toBe('BAD_ARCHIVE');
    expect(
      (
        await rejects(
          env.ng.registry.deploy({ functionName: 'n', runtime: 'sh', fileName: 'notes.txt', data: src('hi') }),
        )
      ).code,
    ).toBe('UNSUPPORTED_FILE_TYPE');
    expect((await env.ng.storage.list('functions/')).length).toBe(before);
  });

  it('validates fields with VALIDATION_FAILED naming the field, and unknown runtimes', async () => {
    const base = { functionName: 'v', runtime: 'sh', fileName: 'v.sh', data: src(ECHO) };
    const field = async (extra: object) =>
      (await rejects(env.ng.registry.deploy({ ...base, ...extra }))).details?.['field'];
    expect(await field({ functionName: '../etc' })).toBe('function_name');
    expect(await field({ timeoutSec: 601 })).toBe('timeout');
    expect(await field({ memoryMb: 8 })).toBe('memory_mb');
    expect(await field({ diskMb: 0 })).toBe('disk_mb');
    expect(await field({ diskMb: 1.5 })).toBe('disk_mb');
    expect(await field({ diskMb: 10_241 })).toBe('disk_mb');
    expect(await field({ diskMb: Number.NaN })).toBe('disk_mb');
    expect(await field({ network: 'everywhere' })).toBe('network');
    expect(await field({ network: 'ai' })).toBe('network'); // no ai.endpoint configured
    expect(await field({ handler: 'no-dot' })).toBe('handler');
    expect(await field({ env: { '1BAD': 'x' } })).toBe('env');
    const unknown = await rejects(env.ng.registry.deploy({ ...base, runtime: 'cobol85' }));
    expect(unknown.code).toBe('RUNTIME_NOT_FOUND');
    expect(unknown.message).toContain('sh');
  });

  it("refuses env names that change the loader, a runtime's search path or the contract, naming the variable", async () => {
    const base = { functionName: 'envy', runtime: 'sh', fileName: 'e.sh', data: src(ECHO) };
    const names = [
      'LD_PRELOAD',
      'LD_LIBRARY_PATH',
      'ld_audit',
      'PYTHONPATH',
      'PYTHONSTARTUP',
      'NODE_OPTIONS',
      'NODE_PATH',
      'BASH_ENV',
      'GCONV_PATH',
      'PAYLOAD',
      'HANDLER',
      'JOB_ID',
      'FUNCTION_ID',
      'AI_ENDPOINT',
      'OUTPUT_DIR',
      'PATH',
      'NANOGRID_DEADLINE_MS',
    ];
    for (const name of names) {
      const err = await rejects(env.ng.registry.deploy({ ...base, env: { SAFE: '1', [name]: '/code/evil.so' } }));
      expect(err.code, name).toBe('VALIDATION_FAILED');
      expect(err.details?.['field'], name).toBe('env');
      expect(err.message, name).toContain(`"${name}"`);
    }
    const ok = await env.ng.registry.deploy({ ...base, env: { API_KEY: 'k', PYTHONUNBUFFERED: '1', LANG: 'C.UTF-8' } });
    expect(ok.env).toEqual({ API_KEY: 'k', PYTHONUNBUFFERED: '1', LANG: 'C.UTF-8' });
  });

  it('lists, gets and deletes; unknown ids are FUNCTION_NOT_FOUND', async () => {
    const meta = await env.ng.registry.deploy({
      functionName: 'gone',
      runtime: 'sh',
      fileName: 'g.sh',
      data: src(ECHO),
    });
    expect((await env.ng.registry.list()).map((m) => m.function_id)).toContain(meta.function_id);
    await env.ng.registry.delete(meta.function_id);
    expect((await env.ng.registry.list()).map((m) => m.function_id)).not.toContain(meta.function_id);
    expect((await rejects(env.ng.registry.get(meta.function_id))).code).toBe('FUNCTION_NOT_FOUND');
    expect((await rejects(env.ng.registry.delete(meta.function_id))).code).toBe('FUNCTION_NOT_FOUND');
    expect((await rejects(env.ng.registry.get('../../etc/passwd'))).code).toBe('VALIDATION_FAILED');
    expect(await env.ng.storage.head(codeKey(meta.function_id, meta.version))).toBeUndefined();
  });

  it('compiled runtimes build at deploy: a build failure is BUILD_FAILED with the output, and nothing is stored', async () => {
    const ok = await env.ng.registry.deploy({
      functionName: 'built',
      runtime: 'sh-built',
      fileName: 'b.sh',
      data: src(ECHO),
    });
    const dir = join(env.ng.options.workDir, 'code', `${ok.code_sha256.slice(0, 40)}-sh-built`, 'out');
    expect(await readFile(join(dir, 'stamp'), 'utf8')).toBe('built\n');
    const before = (await env.ng.storage.list('functions/')).length;
    const bad = await rejects(
      env.ng.registry.deploy({
        functionName: 'broken',
        runtime: 'sh-built',
        fileName: 'b.sh',
        data: src('if then fi (\n'),
      }),
    );
    expect(bad.code).toBe('BUILD_FAILED');
    expect(bad.message).toMatch(/syntax error|unexpected/i);
    expect((await env.ng.storage.list('functions/')).length).toBe(before);
  });

  it("a deploy in this process reads the function's versions itself: its first call lists nothing", async () => {
    const meta = await env.ng.registry.deploy({
      functionName: 'fresh',
      runtime: 'sh',
      fileName: 'f.sh',
      data: src(ECHO),
    });
    const list = vi.spyOn(env.ng.storage, 'list');
    try {
      expect((await env.ng.registry.get(meta.function_id)).version).toBe(1);
      expect((await env.ng.registry.get('fresh')).version).toBe(1);
      expect(list.mock.calls.filter(([prefix]) => prefix.includes(meta.function_id))).toHaveLength(0);
    } finally {
      list.mockRestore();
    }
  });

  it('reads a function once for many callers at once, and a deploy meanwhile is seen at once', async () => {
    const saved = env.ng.registry.metaCacheMs;
    env.ng.registry.metaCacheMs = 0; // every read past this instant goes to storage
    const first = await env.ng.registry.deploy({
      functionName: 'herd',
      runtime: 'sh',
      fileName: 'h.sh',
      data: src(ECHO),
    });
    await env.ng.registry.get(first.function_id); // the deploy's own read of its versions is over
    const list = vi.spyOn(env.ng.storage, 'list');
    try {
      await new Promise((r) => setTimeout(r, 2));
      const metas = await Promise.all(Array.from({ length: 20 }, () => env.ng.registry.get(first.function_id)));
      expect(metas.every((m) => m.version === 1)).toBe(true);
      expect(list.mock.calls.filter(([prefix]) => prefix.includes(first.function_id))).toHaveLength(1);
      // A read in flight while this process deploys version 2 is not what later reads get.
      const inFlight = env.ng.registry.get(first.function_id);
      await env.ng.registry.deploy({ functionName: 'herd', runtime: 'sh', fileName: 'h.sh', data: src(`${ECHO}#2\n`) });
      await inFlight;
      env.ng.registry.metaCacheMs = 60_000;
      expect((await env.ng.registry.get(first.function_id)).version).toBe(2);
    } finally {
      list.mockRestore();
      env.ng.registry.metaCacheMs = saved;
    }
  });
});

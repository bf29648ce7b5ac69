import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  composeNanoGrid,
  fsStorage,
  isNanoGridError,
  memoryQueue,
  memoryResults,
  processSandbox,
  silentLogger,
} from '@nanogrid/core';
import { type BuildEngine, buildEngine } from '@nanogrid/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRequirements, pythonRuntime } from '../src/index.js';
import { type LocalIndex, makeWheel, serveIndex } from './local-index.js';

const HANDLER = `import tinydep\n\ndef handler(event, context):\n    return {"value": tinydep.VALUE, "from": tinydep.__file__.split("/")[-3]}\n`;

async function buildError(
  p: Promise<unknown>,
): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    if (isNanoGridError(err))
      return { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
    throw err;
  }
  throw new Error('expected the deploy to fail');
}

describe('parseRequirements', () => {
  it('accepts names, extras, versions, markers and --hash', () => {
    const text =
      'requests==2.31.0  # pinned\nFoo_Bar[extra1, x] >=1.0, <2 ; python_version >= "3.8"\n# comment\n\nbaz \\\n  ~=1.2 --hash=sha256:abc123\n';
    expect(parseRequirements(text).map((r) => [r.name, r.line])).toEqual([
      ['requests', 1],
      ['Foo_Bar', 2],
      ['baz', 5],
    ]);
  });

  it.each([
    ['--index-url http://evil.example/simple', 'pip options'],
    ['-e git+https://evil.example/x.git#egg=x', 'pip options'],
    ['-r other.txt', 'pip options'],
    ['--extra-index-url=http://evil.example', 'pip options'],
    ['pkg --install-option="--prefix=/etc"', '--install-option'],
    ['pkg==1.0 --global-option=build_ext', '--global-option'],
    ['pkg @ https://evil.example/pkg.whl', 'direct references'],
    ['git+https://evil.example/x.git', 'direct references'],
    ['./local/pkg', 'not a package name'],
    ['https://evil.example/x.whl', 'direct references'],
  ])('refuses %s', (line, why) => {
    let error: unknown;
    try {
      parseRequirements(`ok==1\n${line}\n`);
    } catch (err) {
      error = err;
    }
    expect(isNanoGridError(error, 'BUILD_FAILED')).toBe(true);
    expect((error as Error).message).toContain('requirements.txt line 2');
    expect((error as Error).message).toContain(why);
  });
});

describe('requirements.txt installed at deploy (process sandbox, local index)', () => {
  let index: LocalIndex;
  let engine: BuildEngine;
  beforeAll(async () => {
    index = await serveIndex([await makeWheel('tinydep', '1.0.0', { 'tinydep/__init__.py': 'VALUE = "tiny 1.0"\n' })]);
    engine = await buildEngine(
      pythonRuntime({ dependencies: { indexUrl: index.url } }),
      processSandbox({ logger: silentLogger }),
    );
  });
  afterAll(async () => {
    await engine?.close();
    await index?.close();
  });

  it("installs the wheel into the function's dependency folder, on its path, once per manifest", async () => {
    const before = engine.builds();
    const fn = await engine.deploy({ 'main.py': HANDLER, 'requirements.txt': 'tinydep==1.0.0\n' });
    expect(engine.builds()).toBe(before + 1);
    expect(index.requests.some((p) => p.startsWith('/files/tinydep-1.0.0'))).toBe(true);
    const job = await engine.run(fn.function_id);
    expect(job.error).toBeUndefined();
    expect(job.result).toEqual({ value: 'tiny 1.0', from: '__nanogrid_deps' });
    // New code, same manifest: the install is not repeated.
    const again = await engine.deploy({ 'main.py': `${HANDLER}# v2\n`, 'requirements.txt': 'tinydep==1.0.0\n' });
    expect(again.code_sha256).not.toBe(fn.code_sha256);
    expect(engine.builds()).toBe(before + 1);
    expect((await engine.run(again.function_id)).result).toEqual({ value: 'tiny 1.0', from: '__nanogrid_deps' });
  });

  it("a package that does not exist: BUILD_FAILED naming it with pip's output, nothing deployed", async () => {
    const listed = (await engine.ng.registry.list()).length;
    const err = await buildError(
      engine.deploy({ 'main.py': HANDLER, 'requirements.txt': 'tinydep==1.0.0\nno-such-package-xyz==9.9\n' }),
    );
    expect(err.code).toBe('BUILD_FAILED');
    expect(err.message).toContain('no-such-package-xyz');
    expect(err.message).toMatch(/No matching distribution found for no-such-package-xyz/);
    expect(err.details).toMatchObject({ field: 'requirements.txt' });
    expect((await engine.ng.registry.list()).length).toBe(listed);
  });

  it('another machine of the cluster runs the function with the tree the deploy installed, from storage', async () => {
    const fn = await engine.deploy({
      'main.py': `${HANDLER}# other machine\n`,
      'requirements.txt': 'tinydep==1.0.0\n',
    });
    expect(await engine.ng.storage.list('deps/')).toHaveLength(1);
    const served = index.requests.length;
    const other = await buildEngine(
      pythonRuntime({ dependencies: { indexUrl: index.url } }),
      processSandbox({ logger: silentLogger }),
      {
        storage: engine.ng.storage,
      },
    );
    try {
      const job = await other.run(fn.function_id);
      expect(job.result).toEqual({ value: 'tiny 1.0', from: '__nanogrid_deps' });
      expect(other.builds()).toBe(0);
      expect(index.requests.length).toBe(served);
    } finally {
      await other.close();
    }
  });

  it('a redeploy whose install fails leaves the previous version serving', async () => {
    const name = `keep-${Date.now()}`;
    const v1 = await engine.deploy({ 'main.py': HANDLER, 'requirements.txt': 'tinydep==1.0.0\n' }, { name });
    const err = await buildError(engine.deploy({ 'main.py': HANDLER, 'requirements.txt': 'tinydep==7.0\n' }, { name }));
    expect(err.code).toBe('BUILD_FAILED');
    expect(err.message).toContain('tinydep');
    const current = await engine.ng.registry.get(name);
    expect(current.version).toBe(v1.version);
    expect((await engine.run(name)).result).toMatchObject({ value: 'tiny 1.0' });
  });

  it('an install over its size or time limit is BUILD_FAILED', async () => {
    const sandbox = processSandbox({ logger: silentLogger });
    const small = await buildEngine(pythonRuntime({ dependencies: { indexUrl: index.url, maxMb: 0.0001 } }), sandbox);
    const slow = await buildEngine(pythonRuntime({ dependencies: { indexUrl: index.url, timeoutSec: 0.05 } }), sandbox);
    try {
      const big = await buildError(small.deploy({ 'main.py': HANDLER, 'requirements.txt': 'tinydep==1.0.0\n' }));
      expect(big).toMatchObject({ code: 'BUILD_FAILED', message: expect.stringMatching(/over the 0 MiB limit/) });
      const late = await buildError(slow.deploy({ 'main.py': HANDLER, 'requirements.txt': 'tinydep==1.0.0\n' }));
      expect(late).toMatchObject({ code: 'BUILD_FAILED', message: expect.stringContaining('ran past 0.05 s') });
      expect(await small.ng.registry.list()).toEqual([]);
    } finally {
      await small.close();
      await slow.close();
    }
  });

  it('a hostile requirements.txt is refused before any install runs', async () => {
    const before = engine.builds();
    const err = await buildError(
      engine.deploy({ 'main.py': HANDLER, 'requirements.txt': '--index-url http://evil.example/simple\ntinydep\n' }),
    );
    expect(err).toMatchObject({ code: 'BUILD_FAILED', details: { field: 'requirements.txt', line: 1 } });
    expect(engine.builds()).toBe(before);
  });

  it('an upload with vendored packages (*.dist-info) or an empty manifest installs nothing', async () => {
    const before = engine.builds();
    const vendored = await engine.deploy({
      'main.py': HANDLER,
      'requirements.txt': 'tinydep==1.0.0\n',
      'tinydep/__init__.py': 'VALUE = "vendored"\n',
      'tinydep-1.0.0.dist-info/METADATA': 'Name: tinydep\n',
    });
    const empty = await engine.deploy({
      'main.py': 'def handler(event, context):\n    return 1\n',
      'requirements.txt': '# nothing\n',
    });
    expect(engine.builds()).toBe(before);
    expect((await engine.run(vendored.function_id)).result).toMatchObject({ value: 'vendored' });
    expect((await engine.run(empty.function_id)).result).toBe(1);
  });
});

describe('the dependency folder on sys.path', () => {
  it('a prewarmed interpreter puts PYTHONPATH from its init line on sys.path (it started before the function was known)', async () => {
    const rt = pythonRuntime();
    expect(rt.env).toEqual({ PYTHONPATH: '__nanogrid_deps' });
    const dir = await mkdtemp(join(tmpdir(), 'nanogrid-prewarm-'));
    try {
      await mkdir(join(dir, '__nanogrid_deps', 'tinydep'), { recursive: true });
      await writeFile(join(dir, '__nanogrid_deps', 'tinydep', '__init__.py'), 'VALUE = "found"\n');
      // Stands in for the warm server the starter runs: it imports the package.
      await writeFile(join(dir, '__nanogrid_serve.py'), 'import tinydep\nprint(tinydep.VALUE)\n');
      const [cmd, ...args] = rt.serve?.prewarm ?? [];
      const out = execFileSync(cmd!, args, {
        cwd: dir,
        input: `${JSON.stringify({ env: rt.env })}\n`,
        encoding: 'utf8',
        env: { PATH: process.env.PATH },
      });
      expect(out.trim()).toBe('found');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a controller of its own', () => {
  it('gets a sandbox when a runtime installs dependencies, since it installs them at deploy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nanogrid-controller-'));
    const ng = await composeNanoGrid(
      {
        role: 'controller',
        dataDir: join(dir, 'data'),
        storage: fsStorage({ dir: join(dir, 'storage'), publicUrl: 'http://files.test' }),
        queue: memoryQueue({ name: `q-${Date.now()}` }),
        results: memoryResults(),
        sandbox: 'process',
        runtimes: [pythonRuntime()],
      },
      { runtimes: [], cwd: dir, logger: silentLogger },
    );
    try {
      expect(ng.worker).toBeUndefined();
      expect(ng.sandbox.name).toBe('process');
    } finally {
      await ng.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('requirements.txt on a sandbox that does not isolate', () => {
  it('is refused unless allowUnisolated is set', async () => {
    const engine = await buildEngine(
      pythonRuntime({ dependencies: { indexUrl: 'http://127.0.0.1:9/simple/' } }),
      processSandbox({ bwrap: false, logger: silentLogger }),
    );
    try {
      const err = await buildError(engine.deploy({ 'main.py': HANDLER, 'requirements.txt': 'tinydep\n' }));
      expect(err.code).toBe('BUILD_FAILED');
      expect(err.message).toContain('needs an isolated sandbox');
      expect(engine.builds()).toBe(0);
    } finally {
      await engine.close();
    }
  });
});

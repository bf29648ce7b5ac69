import { isNanoGridError, processSandbox, silentLogger } from '@nanogrid/core';
import { type BuildEngine, buildEngine } from '@nanogrid/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLock, manifestPackages, nodeRuntime } from '../src/index.js';

// is-number from the npm registry (reachable from these machines): small, no dependencies of its own.
const MANIFEST = JSON.stringify({
  name: 'fn',
  version: '1.0.0',
  dependencies: { 'is-number': '7.0.0' },
  devDependencies: { 'left-pad': '1.3.0' },
});
const LOCK = JSON.stringify({
  name: 'fn',
  version: '1.0.0',
  lockfileVersion: 3,
  requires: true,
  packages: {
    '': { name: 'fn', version: '1.0.0', dependencies: { 'is-number': '7.0.0' } },
    'node_modules/is-number': {
      version: '7.0.0',
      resolved: 'https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz',
      integrity: 'sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==',
      engines: { node: '>=0.12.0' },
    },
  },
});
const HANDLER = `import isNumber from 'is-number';
import { existsSync } from 'node:fs';
export async function handler(event) {
  return { number: isNumber(event.x), devInstalled: existsSync('node_modules/left-pad'), scriptsRan: existsSync('node_modules/.scripts-ran') };
}
`;

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

const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (isNanoGridError(err, 'BUILD_FAILED')) return err.message;
    throw err;
  }
  return 'accepted';
};

describe('package.json checks', () => {
  it('lists registry dependencies; devDependencies are not installed', () => {
    expect(manifestPackages(MANIFEST)).toEqual(['is-number']);
    expect(
      manifestPackages(
        JSON.stringify({
          dependencies: { a: '^1', '@s/b': 'latest', c: 'npm:@x/y@2' },
          optionalDependencies: { d: '~2.0.0' },
        }),
      ),
    ).toEqual(['a', '@s/b', 'c', 'd']);
  });

  it.each([
    ['file:../../etc', 'x'],
    ['link:/', 'x'],
    ['git+https://evil.example/x.git', 'x'],
    ['https://evil.example/x.tgz', 'x'],
    ['evil/repo', 'x'],
    ['github:evil/repo', 'x'],
  ])('refuses the spec %s', (spec, name) => {
    expect(refusal(() => manifestPackages(JSON.stringify({ dependencies: { [name]: spec } })))).toContain(
      `"${name}": "${spec}" is not accepted`,
    );
  });

  it('refuses non-registry specs in peerDependencies and overrides, and workspaces', () => {
    const refuse = (pkg: object) =>
      refusal(() => manifestPackages(JSON.stringify({ dependencies: { a: '1' }, ...pkg })));
    expect(refuse({ peerDependencies: { p: 'git+https://evil.example/p.git' } })).toContain(
      '"p": "git+https://evil.example/p.git"',
    );
    expect(refuse({ overrides: { a: { b: 'file:/etc' } } })).toContain('"b": "file:/etc" is not accepted');
    expect(refuse({ workspaces: ['../../..'] })).toContain('"workspaces" are not installed');
    expect(refuse({ overrides: { a: '$a', b: { '.': '2.0.0' } }, peerDependencies: { q: '^1' } })).toBe('accepted');
  });

  it('refuses a package.json that is not JSON, and a lock that points outside the registry', () => {
    expect(refusal(() => manifestPackages('{nope'))).toContain('package.json: not valid JSON');
    const evil = LOCK.replace(
      'https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz',
      'http://169.254.169.254/latest/meta-data',
    );
    expect(refusal(() => checkLock('package-lock.json', evil, 'https://registry.npmjs.org/'))).toContain(
      'resolves to http://169.254.169.254',
    );
    expect(refusal(() => checkLock('package-lock.json', LOCK, 'https://registry.npmjs.org/'))).toBe('accepted');
  });
});

describe('package.json installed at deploy (process sandbox, npm registry)', () => {
  let engine: BuildEngine;
  beforeAll(async () => {
    engine = await buildEngine(nodeRuntime(), processSandbox({ logger: silentLogger }));
  });
  afterAll(async () => {
    await engine?.close();
  });

  it('installs is-number into node_modules once per manifest; no dev dependencies, no install scripts', async () => {
    const before = engine.builds();
    // A postinstall script that would leave a mark in node_modules: --ignore-scripts keeps it from running.
    const manifest = JSON.stringify({
      ...JSON.parse(MANIFEST),
      scripts: { postinstall: 'echo ran > node_modules/.scripts-ran' },
    });
    const fn = await engine.deploy({ 'main.mjs': HANDLER, 'package.json': manifest }, { runtime: 'nodejs20.x' });
    expect(engine.builds()).toBe(before + 1);
    const job = await engine.run(fn.function_id, { x: '42' });
    expect(job.error).toBeUndefined();
    expect(job.result).toEqual({ number: true, devInstalled: false, scriptsRan: false });
    const again = await engine.deploy(
      { 'main.mjs': `${HANDLER}// v2\n`, 'package.json': manifest },
      { runtime: 'nodejs20.x' },
    );
    expect(engine.builds()).toBe(before + 1);
    expect((await engine.run(again.function_id, { x: 'nope' })).result).toMatchObject({ number: false });
  });

  it('with a lock file: npm ci', async () => {
    const before = engine.builds();
    const manifest = JSON.stringify({ name: 'fn', version: '1.0.0', dependencies: { 'is-number': '7.0.0' } });
    const fn = await engine.deploy(
      { 'main.mjs': HANDLER, 'package.json': manifest, 'package-lock.json': LOCK },
      { runtime: 'nodejs20.x' },
    );
    expect(engine.builds()).toBe(before + 1);
    expect((await engine.run(fn.function_id, { x: 7 })).result).toMatchObject({ number: true });
  });

  it("a package that does not exist: BUILD_FAILED naming it with npm's output, nothing deployed", async () => {
    const listed = (await engine.ng.registry.list()).length;
    const manifest = JSON.stringify({ dependencies: { 'nanogrid-no-such-package-7f3e9': '1.0.0' } });
    const err = await buildError(
      engine.deploy({ 'main.mjs': HANDLER, 'package.json': manifest }, { runtime: 'nodejs20.x' }),
    );
    expect(err.code).toBe('BUILD_FAILED');
    expect(err.message).toContain('nanogrid-no-such-package-7f3e9');
    expect(err.message).toMatch(/E404|404 Not Found/);
    expect(err.details).toMatchObject({ field: 'package.json' });
    expect((await engine.ng.registry.list()).length).toBe(listed);
  });

  it('a package.json without dependencies, or an upload with node_modules, installs nothing', async () => {
    const before = engine.builds();
    const plain = await engine.deploy(
      { 'index.js': 'export async function handler() { return "esm"; }\n', 'package.json': '{"type":"module"}' },
      { runtime: 'nodejs20.x' },
    );
    const vendored = await engine.deploy(
      {
        'main.mjs': HANDLER,
        'package.json': MANIFEST,
        'node_modules/is-number/package.json': '{"name":"is-number","main":"index.js"}',
        'node_modules/is-number/index.js': 'module.exports = () => "vendored";\n',
      },
      { runtime: 'nodejs20.x' },
    );
    expect(engine.builds()).toBe(before);
    expect((await engine.run(plain.function_id)).result).toBe('esm');
    expect((await engine.run(vendored.function_id)).result).toMatchObject({ number: 'vendored' });
  });
});

describe('install scripts, opted in', () => {
  it('run when installScripts is set', async () => {
    const engine = await buildEngine(
      nodeRuntime({ dependencies: { installScripts: true } }),
      processSandbox({ logger: silentLogger }),
    );
    try {
      const manifest = JSON.stringify({
        ...JSON.parse(MANIFEST),
        scripts: { postinstall: 'echo ran > node_modules/.scripts-ran' },
      });
      const fn = await engine.deploy({ 'main.mjs': HANDLER, 'package.json': manifest }, { runtime: 'nodejs20.x' });
      expect((await engine.run(fn.function_id, { x: 1 })).result).toEqual({
        number: true,
        devInstalled: false,
        scriptsRan: true,
      });
    } finally {
      await engine.close();
    }
  });
});

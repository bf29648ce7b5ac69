import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fsStorage, isNanoGridError, memoryQueue, memoryResults } from '@nanogrid/core';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultRuntimes, loadConfig, memoryRateLimitStore, validateConfig } from '../src/index.js';

const packagesDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dirs: string[] = [];

/** A fresh project directory whose node_modules links @nanogrid/host and core, as an install would. */
async function project(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nanogrid-config-'));
  dirs.push(dir);
  await mkdir(join(dir, 'node_modules', '@nanogrid'), { recursive: true });
  await symlink(join(packagesDir, 'host'), join(dir, 'node_modules', '@nanogrid', 'host'), 'dir');
  await symlink(join(packagesDir, 'core'), join(dir, 'node_modules', '@nanogrid', 'core'), 'dir');
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return dir;
}

async function configError(p: Promise<unknown>): Promise<{ message: string; field: unknown; file: unknown }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isNanoGridError(err, 'CONFIG_INVALID')).toBe(true);
  const e = err as { message: string; details?: Record<string, unknown> };
  return { message: e.message, field: e.details?.['field'], file: e.details?.['file'] };
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('loadConfig', () => {
  it('no config file → the embedded defaults (an empty config)', async () => {
    const dir = await project({});
    expect(await loadConfig({ cwd: dir })).toEqual({ config: {} });
  });

  it('loads nanogrid.config.ts that imports @nanogrid/host and uses types', async () => {
    const dir = await project({
      'nanogrid.config.ts': `import { defineConfig, type NanoGridConfig } from '@nanogrid/host';
const http: NanoGridConfig['http'] = { apiKeys: ['secret'] };
const port: number = 9090;
export default defineConfig({ port, http, sandbox: 'process' satisfies NanoGridConfig['sandbox'] });
`,
    });
    const loaded = await loadConfig({ cwd: dir });
    expect(loaded.config).toEqual({ port: 9090, http: { apiKeys: ['secret'] }, sandbox: 'process' });
    expect(loaded.filepath).toBe(join(dir, 'nanogrid.config.ts'));
  });

  it('loads an .mjs config whose default export is an async function', async () => {
    const dir = await project({
      'nanogrid.config.mjs': `export default async () => ({ role: 'all', worker: { concurrency: 4 } });\n`,
    });
    expect((await loadConfig({ cwd: dir })).config).toEqual({ role: 'all', worker: { concurrency: 4 } });
  });

  it('loads a .json config, a package.json "nanogrid" key, and an explicit --config path', async () => {
    const json = await project({ 'nanogrid.config.json': '{ "port": 7000, "limits": { "defaultTimeoutSec": 60 } }' });
    expect((await loadConfig({ cwd: json })).config).toEqual({ port: 7000, limits: { defaultTimeoutSec: 60 } });

    const pkg = await project({ 'package.json': '{ "name": "app", "nanogrid": { "hostname": "127.0.0.1" } }' });
    expect((await loadConfig({ cwd: pkg })).config).toEqual({ hostname: '127.0.0.1' });

    const explicit = await project({ 'conf/prod.mts': `export default { dataDir: '/var/lib/nanogrid' } as const;\n` });
    const loaded = await loadConfig({ cwd: explicit, configPath: 'conf/prod.mts' });
    expect(loaded).toEqual({ config: { dataDir: '/var/lib/nanogrid' }, filepath: join(explicit, 'conf/prod.mts') });
  });

  it('refuses unknown keys, wrong types and plugin objects missing methods, naming file and field', async () => {
    const unknown = await project({ 'nanogrid.config.mjs': 'export default { prot: 8080 };\n' });
    const e1 = await configError(loadConfig({ cwd: unknown }));
    expect(e1.field).toBe('prot');
    expect(e1.message).toContain(join(unknown, 'nanogrid.config.mjs'));

    const wrongType = await project({ 'nanogrid.config.json': '{ "port": "eighty", "http": { "apiKeys": [] } }' });
    expect((await configError(loadConfig({ cwd: wrongType }))).field).toBe('port');

    const nested = await project({
      'nanogrid.config.json': '{ "http": { "rateLimit": { "max": 0, "windowMs": 1000 } } }',
    });
    expect((await configError(loadConfig({ cwd: nested }))).field).toBe('http.rateLimit.max');

    const badPlugin = await project({ 'nanogrid.config.mjs': "export default { queue: { name: 'q', send() {} } };\n" });
    expect((await configError(loadConfig({ cwd: badPlugin }))).field).toBe('queue.receive');

    const notObject = await project({ 'nanogrid.config.mjs': 'export default 42;\n' });
    expect((await configError(loadConfig({ cwd: notObject }))).field).toBe('(default export)');
  });

  it('refuses a missing explicit file, a syntax error, and a config function that throws', async () => {
    const dir = await project({
      'broken.ts': 'export default defineConfig({ port: 1 \n',
      'throws.mjs': "export default () => { throw new Error('no secrets in env'); };\n",
    });
    expect((await configError(loadConfig({ cwd: dir, configPath: 'missing.ts' }))).message).toContain('not found');
    expect((await configError(loadConfig({ cwd: dir, configPath: 'broken.ts' }))).message).toContain('broken.ts');
    expect((await configError(loadConfig({ cwd: dir, configPath: 'throws.mjs' }))).message).toContain(
      'no secrets in env',
    );
  });
});

describe('validateConfig', () => {
  it('accepts real plugin objects', () => {
    const config = {
      storage: fsStorage({ dir: join(tmpdir(), 'never-written') }),
      queue: memoryQueue(),
      results: memoryResults(),
      runtimes: defaultRuntimes(),
      sandbox: 'process' as const,
      http: {
        rateLimitStore: memoryRateLimitStore(),
        rateLimit: false as const,
        publicUrl: 'https://faas.example.com',
      },
      ai: { endpoint: 'http://10.0.0.5:11434' },
    };
    expect(validateConfig(config)).toBe(config);
  });

  it('names the field of a bad runtime plugin and of a bad URL', () => {
    const [python] = defaultRuntimes();
    expect(() => validateConfig({ runtimes: [{ ...python, entry: 'python3' }] }, 'x.ts')).toThrow(
      /runtimes\[0\]\.entry/,
    );
    expect(() => validateConfig({ ai: { endpoint: 'not a url' } }, 'x.ts')).toThrow(/ai\.endpoint/);
  });
});

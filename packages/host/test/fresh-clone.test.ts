import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const exec = promisify(execFile);

async function sh(cwd: string, cmd: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await exec(cmd, args, {
      cwd,
      env: { ...process.env, npm_config_yes: 'false' },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: typeof x.code === 'number' ? x.code : 1, out: x.stdout ?? '', err: x.stderr ?? '' };
  }
}

/**
 * A new user's first steps on a fresh clone of this commit: install (offline,
 * from the pnpm store this checkout already filled), build, then `npx nanogrid`.
 * The bin link is made at install time, before the build: it must still work.
 */
describe('npx nanogrid on a fresh clone', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('works after install + build, and says what to do before the build', async () => {
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-clone-'));
    const clone = join(dir, 'nanogrid');
    const head = (await sh(repo, 'git', ['rev-parse', 'HEAD'])).out.trim();
    expect((await sh(dir, 'git', ['clone', '-q', '--no-checkout', repo, clone])).code).toBe(0);
    expect((await sh(clone, 'git', ['checkout', '-q', head])).code).toBe(0);
    const install = await sh(clone, 'pnpm', ['install', '--frozen-lockfile', '--offline', '--reporter=silent']);
    expect(install.code, install.err).toBe(0);
    expect((await stat(join(clone, 'node_modules/.bin/nanogrid'))).isFile()).toBe(true);

    const early = await sh(clone, 'npx', ['--no-install', 'nanogrid', '--version']);
    expect(early.code).toBe(1);
    expect(early.err).toContain('npm run build');

    // What `npm run demo` / `npm test` build before anything runs (the CLI's part of it: packages/host and its references).
    const build = await sh(clone, 'npx', ['--no-install', 'tsc', '-b', 'packages/host']);
    expect(build.code, build.out + build.err).toBe(0);
    const version = await sh(clone, 'npx', ['--no-install', 'nanogrid', '--version']);
    expect(version).toMatchObject({ code: 0, out: '0.1.0\n' });
    const help = await sh(clone, 'npx', ['--no-install', 'nanogrid', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('nanogrid <command>');
  }, 300_000);
});

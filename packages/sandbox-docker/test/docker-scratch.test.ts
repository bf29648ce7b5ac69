import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@nanogrid/core';
import { afterAll, describe, expect, it } from 'vitest';
import { ScratchMounts } from '../src/docker-scratch.js';

const isRoot = process.getuid?.() === 0;
// CI runs as root (the quota needs it); elsewhere the fallback is tested instead.
if (process.env.CI === 'true' && !isRoot) throw new Error('the scratch-mount tests need root with CI=true');

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
}

/** The tmpfs mounted at `dir`, from /proc/mounts (its options), or undefined. */
function mountOf(dir: string): string | undefined {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[1] === dir);
}

async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

describe('per-run scratch mounts (the Docker disk quota)', () => {
  const roots: string[] = [];
  const newRoot = async () => {
    const parent = await mkdtemp(join(tmpdir(), 'nanogrid-scratch-test-'));
    roots.push(parent);
    return join(parent, 'root');
  };
  afterAll(async () => {
    for (const r of roots) spawnSync('sh', ['-c', `for m in ${r}/root/*; do umount -l "$m" 2>/dev/null; done`]);
    await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
  });

  it.runIf(isRoot)(
    'mounts one tmpfs of the quota with /tmp and /output in it, resizes it, and unmounts it',
    async () => {
      const root = await newRoot();
      const mounts = new ScratchMounts(root, recordingLogger());
      const scratch = await mounts.create('run1', 4);
      expect(scratch).toBeDefined();
      const dir = join(root, `nanogrid-scratch-${process.pid}-run1`);
      expect(scratch!.binds).toEqual([`${dir}/tmp:/tmp:rw`, `${dir}/output:/output:rw`]);
      expect(mountOf(dir)).toMatch(/tmpfs .*size=4096k/);
      expect(mountOf(dir)).toMatch(/nosuid,nodev/);
      await scratch!.resize(8);
      expect(mountOf(dir)).toMatch(/size=8192k/);
      await scratch!.release();
      expect(mountOf(dir)).toBeUndefined();
      expect(existsSync(dir)).toBe(false);
    },
  );

  it.runIf(isRoot)('unmounts what a worker that is gone left behind, and keeps its own', async () => {
    const root = await newRoot();
    const mounts = new ScratchMounts(root, recordingLogger());
    const mine = await mounts.create('live', 4);
    const stale = join(root, `nanogrid-scratch-${await deadPid()}-old`);
    await mkdir(stale);
    spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'nanogrid-scratch', stale]);
    expect(mountOf(stale)).toBeDefined();
    expect(await mounts.removeStale()).toBe(1);
    expect(mountOf(stale)).toBeUndefined();
    expect(existsSync(stale)).toBe(false);
    expect(mountOf(join(root, `nanogrid-scratch-${process.pid}-live`))).toBeDefined();
    await mine?.release();
  });

  it('refuses a parent directory that is a link (planted in a shared /tmp): no mount, one warning', async () => {
    const root = await newRoot();
    const elsewhere = await mkdtemp(join(tmpdir(), 'nanogrid-elsewhere-'));
    roots.push(elsewhere);
    await symlink(elsewhere, root);
    const log = recordingLogger();
    const mounts = new ScratchMounts(root, log);
    expect(await mounts.create('a', 4)).toBeUndefined();
    expect(await mounts.create('b', 4)).toBeUndefined();
    expect(log.lines.filter((l) => l.includes('cannot mount a tmpfs per run'))).toHaveLength(1);
  });
});

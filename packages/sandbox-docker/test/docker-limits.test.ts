import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeCgroupLimits } from '../src/docker-limits.js';

const root = mkdtempSync(join(tmpdir(), 'nanogrid-limits-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const RUN = 'a1b2c3d4e5f60718';
const ID = 'c494d7b30c579305c967b731f4f1d9a26b7bbe7a5d2c6f1d61ee4f2a3d37e4d8';
const MiB = 1024 * 1024;

/** A cgroup tree as Docker's cgroupfs driver lays out a container with parent /nanogrid/<run>. */
function tree(version: 1 | 2, files: Record<string, string>): string {
  const base = mkdtempSync(join(root, `v${version}-`));
  for (const [name, value] of Object.entries(files)) {
    const [controller, file] = name.split('/') as [string, string];
    const dir = version === 1 ? join(base, controller, 'nanogrid', RUN, ID) : join(base, 'nanogrid', RUN, ID);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, file), value);
  }
  return base;
}
const read = (base: string, path: string) => readFileSync(join(base, path), 'utf8').trim();

describe("a spare's limits written in its cgroup (writeCgroupLimits)", () => {
  it('cgroup v1: memory, memory + swap and the CFS quota', () => {
    const base = tree(1, {
      'memory/memory.limit_in_bytes': String(512 * MiB),
      'memory/memory.memsw.limit_in_bytes': String(512 * MiB),
      'cpu/cpu.cfs_period_us': '100000',
      'cpu/cpu.cfs_quota_us': '50000',
    });
    expect(writeCgroupLimits({ version: 1, root: base }, RUN, ID, { memoryBytes: 64 * MiB, nanoCpus: 1.5e9 })).toBe(
      true,
    );
    const dir = `nanogrid/${RUN}/${ID}`;
    expect(read(base, `memory/${dir}/memory.limit_in_bytes`)).toBe(String(64 * MiB));
    expect(read(base, `memory/${dir}/memory.memsw.limit_in_bytes`)).toBe(String(64 * MiB));
    expect(read(base, `cpu/${dir}/cpu.cfs_quota_us`)).toBe('150000');
  });

  it('cgroup v1 without swap accounting: the memory limit alone', () => {
    const base = tree(1, { 'memory/memory.limit_in_bytes': String(512 * MiB) });
    expect(writeCgroupLimits({ version: 1, root: base }, RUN, ID, { memoryBytes: 1024 * MiB })).toBe(true);
    expect(read(base, `memory/nanogrid/${RUN}/${ID}/memory.limit_in_bytes`)).toBe(String(1024 * MiB));
  });

  it('cgroup v2: memory.max and cpu.max (its period kept)', () => {
    const base = tree(2, { 'x/memory.max': String(512 * MiB), 'x/cpu.max': '25000 50000' });
    expect(writeCgroupLimits({ version: 2, root: base }, RUN, ID, { memoryBytes: 128 * MiB, nanoCpus: 1e9 })).toBe(
      true,
    );
    expect(read(base, `nanogrid/${RUN}/${ID}/memory.max`)).toBe(String(128 * MiB));
    expect(read(base, `nanogrid/${RUN}/${ID}/cpu.max`)).toBe('50000 50000');
  });

  it('says false when the container is not where the layout puts it: the engine is asked instead', () => {
    const base = tree(2, { 'x/memory.max': 'max' });
    expect(writeCgroupLimits({ version: 2, root: base }, RUN, ID.replace('c4', 'd4'), { memoryBytes: MiB })).toBe(
      false,
    );
    // CPU missing where memory is there: false, whatever was written (the engine then writes every limit).
    expect(writeCgroupLimits({ version: 2, root: base }, RUN, ID, { memoryBytes: MiB, nanoCpus: 1e9 })).toBe(false);
  });

  it('refuses ids that would leave the cgroup directory, writing nothing', () => {
    const base = tree(2, { 'x/memory.max': 'max' });
    mkdirSync(join(base, 'nanogrid', RUN, 'evil'), { recursive: true });
    writeFileSync(join(base, 'nanogrid', 'memory.max'), 'untouched');
    for (const [run, id] of [
      [RUN, '..'],
      [RUN, `../${ID}`],
      ['..', ID],
      [`${RUN}/..`, ID],
      [RUN, 'evil'],
    ] as const)
      expect(writeCgroupLimits({ version: 2, root: base }, run, id, { memoryBytes: MiB })).toBe(false);
    expect(readFileSync(join(base, 'nanogrid', 'memory.max'), 'utf8')).toBe('untouched');
  });
});

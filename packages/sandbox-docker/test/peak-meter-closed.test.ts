import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openPeakMeter } from '../src/docker-memory.js';

const root = mkdtempSync(join(tmpdir(), 'nanogrid-peak-closed-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/**
 * A warm instance's peak meter keeps its cgroup file open by number. The pool's shutdown destroys an instance
 * while its call is still in flight, and that call reads the meter after `close()`: by then the kernel may have
 * given the number to another file of the host's (a job's output, the SQLite database). The meter must touch it
 * neither way (a read takes its first bytes as a peak, a reset writes `0` over its first byte).
 */
describe('a closed peak meter (openPeakMeter)', () => {
  it('never reads or writes the fd number it closed, whoever holds it now', () => {
    const run = 'a1b2c3d4e5f60718';
    const dir = join(root, 'memory', 'nanogrid', run);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'memory.max_usage_in_bytes'), '4096\n');
    const meter = openPeakMeter({ version: 1, root }, run);
    expect(meter?.read()).toBe(4096);
    meter?.close();
    const other = join(root, 'other-job.db');
    writeFileSync(other, '987654321\n');
    const opened: number[] = [];
    try {
      for (let i = 0; i < 64; i++) opened.push(openSync(other, 'r+'));
      expect(meter?.read()).toBeUndefined();
      meter?.reset();
      meter?.close(); // a second close must not close the file that took its number
      expect(readFileSync(other, 'utf8')).toBe('987654321\n');
      // Every file the host opened is still its own.
      for (const fd of opened) expect(() => readFileSync(fd)).not.toThrow();
    } finally {
      for (const fd of opened) {
        try {
          closeSync(fd);
        } catch {
          // closed by the meter: the test has failed already
        }
      }
    }
  });
});

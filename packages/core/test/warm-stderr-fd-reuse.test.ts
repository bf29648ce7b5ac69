import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { WarmStderr } from '../src/sandbox/warm-stderr.js';

const dir = mkdtempSync(join(tmpdir(), 'nanogrid-stderr-reuse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The fd under a child's pipe stream, as the process pool takes it. */
const fdOf = (stream: Readable): number => (stream as unknown as { _handle: { fd: number } })._handle.fd;

/**
 * A warm instance whose stderr pipe closes before its call is collected: its server closes fd 2 and goes on
 * (or crashes: both pipes end, not in one event-loop turn). The host closes its end, and the kernel hands the
 * same fd number to the next file or socket the host opens — another job's file, another client's connection.
 * Collecting the call must not read that: it would steal its bytes into the hostile call's stderr.
 */
describe('WarmStderr after its pipe closed (hostile server closing fd 2)', () => {
  it("never reads a recycled fd number: another file's bytes neither leak nor go missing", async () => {
    const child = spawn('sh', ['-c', 'echo own-words >&2; exec 2>&-; sleep 2'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      const stderr = child.stderr as Readable;
      const fd = fdOf(stderr);
      const err = new WarmStderr(1024 * 1024);
      err.attach(stderr, fd);
      err.reset();
      await new Promise((resolve) => stderr.once('close', resolve));
      // The host goes on serving: files (and sockets) it opens take the lowest free numbers, the freed one first.
      const secret = join(dir, 'other-job.txt');
      writeFileSync(secret, 'OTHER-TENANT-SECRET\n');
      const opened: number[] = [];
      try {
        for (let i = 0; i < 64 && !opened.includes(fd); i++) opened.push(openSync(secret, 'r'));
        expect(opened, 'the freed fd number was handed out again').toContain(fd);
        // Both ways a pipe is read: the instance gone (a crash), and an answer saying bytes are left unread.
        await err.collect(false, undefined, 1000);
        await err.collect(true, 4096, 1000);
        expect(err.toString()).toBe('own-words\n');
        // Its owner still reads the whole file from where it was.
        const buf = Buffer.alloc(64);
        const n = readSync(fd, buf, 0, buf.length, null);
        expect(buf.subarray(0, n).toString()).toBe(readFileSync(secret, 'utf8'));
      } finally {
        for (const f of opened) closeSync(f);
      }
    } finally {
      child.kill('SIGKILL');
    }
  });
});

import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { STDERR_END } from '../src/plugins/runtime-plugin.js';
import { WarmStderr } from '../src/sandbox/warm-stderr.js';

describe('WarmStderr', () => {
  it('drops the end mark, even split across chunks, and settles once it arrived', async () => {
    const err = new WarmStderr(1024);
    let settled = false;
    const done = err.settled(10_000).then(() => (settled = true));
    const bytes = Buffer.from(`boom\n${STDERR_END}`);
    for (let i = 0; i < bytes.length; i += 3) err.write(bytes.subarray(i, i + 3));
    await done;
    expect(settled).toBe(true);
    expect(err.toString()).toBe('boom\n');
  });

  it('keeps bytes that only look like the start of a mark, and gives up waiting after the timeout', async () => {
    const err = new WarmStderr(1024);
    err.write(Buffer.from('a\u001eNANOGRID_NOT_IT\n\u001eNANO'));
    vi.useFakeTimers();
    try {
      let settled = false;
      const done = err.settled(50).then(() => (settled = true));
      await vi.advanceTimersByTimeAsync(49);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await done;
      expect(settled).toBe(true);
    } finally {
      vi.useRealTimers();
    }
    expect(err.toString()).toBe('a\u001eNANOGRID_NOT_IT\n\u001eNANO');
  });

  it('a call starts empty: reset forgets the previous call and its mark', async () => {
    const err = new WarmStderr(1024);
    err.write(Buffer.from(`old\n${STDERR_END}`));
    err.reset();
    expect(err.toString()).toBe('');
    err.write(Buffer.from(`new\n${STDERR_END}`));
    await err.settled(1000);
    expect(err.toString()).toBe('new\n');
  });

  /** A named pipe read as the pools read one: a stream over a non-blocking fd the host holds, and a writer. */
  function withPipe(test: (err: WarmStderr, write: (text: string) => void) => Promise<void> | void) {
    return async () => {
      const dir = mkdtempSync(join(tmpdir(), 'nanogrid-stderr-'));
      const path = join(dir, 'err');
      execFileSync('mkfifo', [path]);
      const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
      const writer = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
      const stream = new Socket({ fd, readable: true, writable: false });
      try {
        const err = new WarmStderr(1024);
        err.attach(stream, fd);
        await test(err, (text) => writeSync(writer, text));
      } finally {
        stream.destroy();
        closeSync(writer);
        rmSync(dir, { recursive: true, force: true });
      }
    };
  }

  it(
    'with the pipe at hand and bytes unread at the answer, collect reads them at once; nothing is live after',
    withPipe((err, write) => {
      const heard: string[] = [];
      err.reset(1024, (_kind, text) => void heard.push(String(text)));
      // Written and collected in one turn: the stream has had no chance to read it, only collect can.
      write(`last words\n${STDERR_END}forged mark above\n`);
      expect(err.collect(true, 49, 1000)).toBeUndefined();
      expect(err.toString()).toBe('last words\nforged mark above\n');
      expect(heard.join('')).toBe('last words\n');
      write('late\n');
      err.collect(true, 5, 1000);
      expect(heard.join('')).toBe('last words\n'); // the call is over: leftovers are not its live output
      err.reset();
      expect(err.toString()).toBe('');
    }),
  );

  it(
    'the server saw nothing unread: collect reads nothing; an instance that died: its pipe is read as it is',
    withPipe((err, write) => {
      err.reset();
      write('after the answer\n');
      expect(err.collect(true, 0, 1000)).toBeUndefined();
      expect(err.toString()).toBe(''); // not read: it belongs to no call
      err.reset();
      write('fatal: segfault\n');
      expect(err.collect(false, undefined, 1000)).toBeUndefined();
      expect(err.toString()).toContain('fatal: segfault\n');
    }),
  );

  it("bytes the stream took from the pipe but still holds are the call's, even when the server saw none unread", () => {
    const dir = mkdtempSync(join(tmpdir(), 'nanogrid-stderr-'));
    const path = join(dir, 'err');
    execFileSync('mkfifo', [path]);
    const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
    try {
      const err = new WarmStderr(1024);
      const held = new PassThrough();
      err.attach(held, fd);
      err.reset();
      held.pause(); // read from the pipe (the kernel's count is 0 then), not handed out yet
      held.write('taken, not handed out\n');
      expect(held.readableLength).toBeGreaterThan(0);
      err.collect(true, 0, 1000);
      expect(err.toString()).toBe('taken, not handed out\n');
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(
    'a server that ends its stderr with the mark (no unread count) is waited for, pipe or not',
    withPipe(async (err, write) => {
      err.reset();
      const done = err.collect(true, undefined, 10_000);
      expect(done).toBeInstanceOf(Promise);
      write(`marked\n${STDERR_END}`);
      await done;
      expect(err.toString()).toBe('marked\n');
      const relayed = new WarmStderr(1024);
      const relay = new PassThrough();
      relayed.attach(relay);
      const waited = relayed.collect(true, 0, 10_000); // a relayed stream has no pipe to ask: the mark decides
      relay.write(`relayed\n${STDERR_END}`);
      await waited;
      expect(relayed.toString()).toBe('relayed\n');
    }),
  );
});

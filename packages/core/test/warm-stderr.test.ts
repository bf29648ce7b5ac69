import { describe, expect, it, vi } from 'vitest';
import { STDERR_END } from '../src/plugins/runtime-plugin.js';
import { WarmStderr } from '../src/sandbox/warm-channel.js';

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
});

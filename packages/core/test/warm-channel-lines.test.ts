// A warm server's stdout is read as lines on the host (a root process serving every function): a function that
// writes to the protocol's fd one endless line must cost the host a bounded buffer and a failed call, not a
// string that grows until V8's length limit throws in a stream callback.
import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { LOG_MARKER, META_MARKER, RESULT_MARKER, WarmChannel } from '../src/index.js';

function channel(maxLineBytes?: number): { ch: WarmChannel; out: PassThrough; sent: string[] } {
  const out = new PassThrough();
  const input = new PassThrough();
  const sent: string[] = [];
  input.on('data', (c: Buffer) => sent.push(c.toString()));
  return { ch: new WarmChannel(out, input, maxLineBytes), out, sent };
}

describe('WarmChannel lines', () => {
  it('a line over the cap fails the call at once (garbage), and what follows is dropped, not kept', async () => {
    const { ch, out } = channel(1024 * 1024);
    const answer = ch.call({});
    const chunk = Buffer.alloc(64 * 1024, 'x');
    for (let i = 0; i < 17; i++) out.write(chunk); // 1.06 MiB, no newline, the stream still open
    const got = await answer;
    expect(got.kind).toBe('garbage');
    expect(got.kind === 'garbage' && got.message).toMatch(/over 1048576 bytes/);
    out.write(`${META_MARKER}{}\n${RESULT_MARKER}{"ok":true}\n`); // too late: the instance is not trusted again
    expect((await ch.call({})).kind).toBe('garbage');
  });

  it("a line held with sendWithNext goes out in the same write as the next call's request, once", async () => {
    const { ch, out, sent } = channel();
    ch.sendWithNext({ env: { HANDLER: 'fn.handler' } });
    expect(sent).toEqual([]); // held until the call
    const answer = ch.call({ JOB_ID: 'j1' });
    expect(sent).toEqual([`{"env":{"HANDLER":"fn.handler"}}\n{"env":{"JOB_ID":"j1"}}\n`]);
    out.write(`${META_MARKER}{}\n${RESULT_MARKER}{"ok":true}\n`);
    expect((await answer).kind).toBe('answered');
    const second = ch.call({ JOB_ID: 'j2' });
    expect(sent[1]).toBe(`{"env":{"JOB_ID":"j2"}}\n`);
    out.write(`${META_MARKER}{}\n${RESULT_MARKER}{"ok":true}\n`);
    expect((await second).kind).toBe('answered');
  });

  it('lines split anywhere (a multi-byte character across chunks, CRLF) read as readline read them', async () => {
    const { ch, out } = channel(1024);
    const answer = ch.call({});
    const meta = Buffer.from(`${META_MARKER}{"logs":"héllo ✓"}\r\n${RESULT_MARKER}{"ok":true,"result":"ü"}\n`);
    for (let at = 0; at < meta.length; at += 3) out.write(meta.subarray(at, at + 3));
    const got = await answer;
    expect(got).toEqual({
      kind: 'answered',
      meta: { logs: 'héllo ✓' },
      resultLine: `${RESULT_MARKER}{"ok":true,"result":"ü"}`,
    });
  });

  it('a line just under the cap is an answer; the stream ending mid-call is "ended"', async () => {
    const { ch, out } = channel(4096);
    const answer = ch.call({});
    out.write(`${META_MARKER}{"logs":"${'a'.repeat(4000)}"}\n`);
    out.write(`${RESULT_MARKER}{"ok":true}\n`);
    expect((await answer).kind).toBe('answered');
    const next = ch.call({});
    out.end(`${META_MARKER}{}`);
    expect((await next).kind).toBe('ended');
  });

  it("log frames past a call's budget (32 MiB) are dropped unread; the next call has its own budget", async () => {
    const { ch, out } = channel();
    const frame = `${LOG_MARKER}${JSON.stringify('y'.repeat(1024 * 1024 - 64))}\n`;
    let heard = 0;
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const answer = ch.call({}, () => heard++);
      for (let i = 0; i < 48; i++) out.write(frame);
      out.write(`${META_MARKER}{}\n${RESULT_MARKER}{"ok":true}\n`);
      expect((await answer).kind).toBe('answered');
      expect(heard).toBe(32);
      // Only the 32 frames in the budget and the META were parsed.
      expect(parse.mock.calls.filter(([text]) => typeof text === 'string' && text.length > 1000)).toHaveLength(32);
      heard = 0;
      const next = ch.call({}, () => heard++);
      out.write(`${frame}${META_MARKER}{}\n${RESULT_MARKER}{"ok":true}\n`);
      expect((await next).kind).toBe('answered');
      expect(heard).toBe(1);
    } finally {
      parse.mockRestore();
    }
  });
});

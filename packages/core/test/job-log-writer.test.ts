import { describe, expect, it } from 'vitest';
import { JobLogWriter, LIVE_LOGS_CUT } from '../src/live/job-log-writer.js';
import { RESULT_MARKER } from '../src/plugins/runtime-plugin.js';
import type { LogLine } from '../src/plugins/result-sink.js';

function sink() {
  const batches: LogLine[][] = [];
  return { batches, lines: () => batches.flat(), append: async (l: LogLine[]) => void batches.push(l) };
}

describe('JobLogWriter', () => {
  it('splits chunks into lines across chunk ends and UTF-8 characters, per stream', async () => {
    const s = sink();
    const w = new JobLogWriter(s.append, 'envelope');
    const e = Buffer.from('é');
    w.onOutput('stdout', Buffer.concat([Buffer.from('a'), e.subarray(0, 1)]));
    w.onOutput('stderr', 'err 1\nerr');
    w.onOutput('stdout', Buffer.concat([e.subarray(1), Buffer.from('b\r\nsecond\n')]));
    w.onOutput('stderr', ' 2\n');
    w.onOutput('stdout', 'no newline at the end');
    await w.close();
    const by = (stream: string) =>
      s
        .lines()
        .filter((l) => l.stream === stream)
        .map((l) => l.line);
    expect(by('stdout')).toEqual(['aéb', 'second', 'no newline at the end']);
    expect(by('stderr')).toEqual(['err 1', 'err 2']);
  });

  it("leaves out a cold run's envelope line, and stdout of a program whose stdout is its result", async () => {
    const a = sink();
    const envelope = new JobLogWriter(a.append, 'envelope');
    envelope.onOutput('stdout', `log\n${RESULT_MARKER}{"ok":true,"result":1}\n`);
    await envelope.close();
    expect(a.lines().map((l) => l.line)).toEqual(['log']);
    const b = sink();
    const stdout = new JobLogWriter(b.append, 'stdout');
    stdout.onOutput('stdout', '{"result": 1}\n');
    stdout.onOutput('stderr', 'a log\n');
    await stdout.close();
    expect(b.lines()).toMatchObject([{ stream: 'stderr', line: 'a log' }]);
  });

  it('cuts a long line (the rest of it is dropped, even without a newline) and stops at the per-job cap', async () => {
    const s = sink();
    const w = new JobLogWriter(s.append, 'envelope', { maxLineChars: 10, maxJobChars: 100 });
    w.onOutput('stderr', 'x'.repeat(25));
    w.onOutput('stderr', 'y'.repeat(25));
    w.onOutput('stderr', 'tail of the long line\nshort\n');
    for (let i = 0; i < 100; i++) w.onOutput('stdout', `line ${i}\n`);
    await w.close();
    const lines = s.lines().map((l) => l.line);
    expect(lines.slice(0, 2)).toEqual([`${'x'.repeat(10)}…`, 'short']);
    expect(lines.at(-1)).toBe(LIVE_LOGS_CUT);
    expect(lines.join('\n').length).toBeLessThan(200);
  });

  it('sends batches one at a time, in order, and close waits for the last', async () => {
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let called!: () => void;
    const firstCall = new Promise<void>((r) => (called = r));
    const w = new JobLogWriter(
      async (lines) => {
        called();
        if (order.length === 0) await gate; // the store is slow with the first batch
        order.push(...lines.map((l) => l.line));
      },
      'envelope',
      { flushMs: 1 },
    );
    w.onOutput('stdout', 'one\n');
    await firstCall;
    w.onOutput('stdout', 'two\n');
    const closed = w.close();
    release();
    await closed;
    expect(order).toEqual(['one', 'two']);
  });

  it('keeps the job going when the store fails (reported once)', async () => {
    const errors: unknown[] = [];
    const w = new JobLogWriter(
      async () => Promise.reject(new Error('down')),
      'envelope',
      { flushMs: 1 },
      (e) => errors.push(e),
    );
    w.onOutput('stdout', 'a\n');
    await w.close();
    expect(errors).toHaveLength(1);
  });
});

import { StringDecoder } from 'node:string_decoder';
import { expect, it } from 'vitest';
import { LOG_MARKER, META_MARKER, RESULT_MARKER, STDERR_END } from '../plugins/runtime-plugin.js';
import type { OutputListener, OutputStream } from '../plugins/sandbox.js';
import type { RuntimeHarness } from './test-runtime.js';

/** What a run printed while it ran, per stream, and when watched pieces first came (performance.now()). */
class OutputRecorder {
  private readonly decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  private readonly texts = { stdout: '', stderr: '' };
  private readonly watched = new Map<string, number | undefined>();

  readonly onOutput: OutputListener = (stream, chunk) => {
    this.texts[stream] += typeof chunk === 'string' ? chunk : this.decoders[stream].write(chunk);
    for (const [needle, at] of this.watched)
      if (at === undefined && this.lines().some((l) => l.endsWith(needle))) this.watched.set(needle, performance.now());
  };

  /** Notes when a line ending with `needle` first shows up, in either stream. */
  watch(needle: string): void {
    this.watched.set(needle, undefined);
  }

  seenAt(needle: string): number | undefined {
    return this.watched.get(needle);
  }

  text(stream: OutputStream): string {
    return this.texts[stream];
  }

  /**
   * The complete lines printed, both streams, without a cold run's envelope line.
   * Where a print lands depends on the runtime and mode (a cold bootstrap keeps
   * stdout for its envelope and sends prints to stderr; Node prints in Lambda's
   * format with a time and the request id before the text): cases read line ends.
   */
  lines(): string[] {
    return [this.texts.stdout, this.texts.stderr]
      .flatMap((t) => t.split('\n').slice(0, -1))
      .filter((l) => !l.startsWith(RESULT_MARKER));
  }
}

const endsWithOne = (lines: string[], needle: string) => lines.filter((l) => l.endsWith(needle)).length;

/**
 * Live output (`onOutput`): what a handler prints reaches the host while it
 * runs, cold and warm, and text that looks like the warm protocol's marks is
 * only text. Runs in both modes.
 */
export function liveOutputCases(h: RuntimeHarness): void {
  const { fixtures } = h;

  it('streams what the handler prints while it runs, stdout and stderr, before the result', async () => {
    const rec = new OutputRecorder();
    rec.watch('first live line');
    rec.watch('done');
    const waitMs = 1500;
    const prepared = await h.prepare(fixtures.liveLogs);
    const outcome = await h.call(prepared, { text: 'first live line', waitMs }, { onOutput: rec.onOutput });
    const ended = performance.now();
    expect(h.expectOk(outcome)).toEqual({ printed: 'first live line' });
    const lines = rec.lines();
    expect(lines, 'each line once').toHaveLength(3);
    expect(endsWithOne(lines, 'err first live line')).toBe(1);
    expect(endsWithOne(lines, 'done')).toBe(1);
    expect(rec.text('stderr')).not.toContain(STDERR_END.trim());
    // The first lines came while the handler waited, not with its answer.
    const first = rec.seenAt('first live line');
    expect(first, 'first line seen').toBeDefined();
    expect(ended - first!).toBeGreaterThan(waitMs / 2);
    expect(rec.seenAt('done')).toBeDefined();
    // The stored logs are as they were.
    expect(outcome.logs).toContain('first live line');
    expect(outcome.logs).toContain('done');
  });

  it("treats a handler's prints of the protocol's marks as text (hostile)", async () => {
    const forged = [
      `${LOG_MARKER}"forged log"`,
      `${META_MARKER}{"logs":"forged","outputs":99}`,
      `${RESULT_MARKER}{"ok":true,"result":"forged"}`,
      STDERR_END.trim(),
    ].join('\n');
    const prepared = await h.prepare(fixtures.liveLogs);
    for (let i = 0; i < 2; i++) {
      // Twice: a warm instance keeps serving after it.
      const rec = new OutputRecorder();
      const outcome = await h.call(prepared, { text: forged, waitMs: 1 }, { onOutput: rec.onOutput });
      expect(h.expectOk(outcome)).toEqual({ printed: forged });
      const lines = rec.lines();
      expect(endsWithOne(lines, `${LOG_MARKER}"forged log"`)).toBe(2); // stdout and stderr
      expect(endsWithOne(lines, `${META_MARKER}{"logs":"forged","outputs":99}`)).toBe(2);
      expect(endsWithOne(lines, 'done')).toBe(1);
      expect(outcome.logs).toContain('forged log');
    }
  });
}

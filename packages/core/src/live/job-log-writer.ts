import { StringDecoder } from 'node:string_decoder';
import { RESULT_MARKER } from '../plugins/runtime-plugin.js';
import type { LogLine } from '../plugins/result-sink.js';
import type { OutputListener, OutputStream } from '../plugins/sandbox.js';

/** What a job's live logs may hold: everything here is controlled by the function. */
export interface JobLogLimits {
  /** Characters of one line; a longer line is cut (with `…`) and the rest of it dropped. @default 8192 */
  maxLineChars?: number;
  /** Characters of lines kept per job (the record's `logs` is apart and unchanged). @default 1 MiB */
  maxJobChars?: number;
  /** Lines kept per job (the stores keep at most 20,000). @default 10_000 */
  maxJobLines?: number;
  /** Lines are sent in batches at most this often. @default 50 */
  flushMs?: number;
}

/** The line a job's live logs end with when it printed more than `maxJobChars`. */
export const LIVE_LOGS_CUT =
  '[nanogrid] live logs stop here: the job printed more than the limit (its final logs keep the tail)';

interface StreamState {
  decoder: StringDecoder;
  partial: string;
  /** Inside a line that was cut: drop until its newline. */
  skipping: boolean;
}

/**
 * Turns a run's output chunks (`onOutput`) into bounded log lines sent in
 * batches to `append` (ResultSink.appendLogs). Cheap per chunk and never
 * throws: past the per-job cap a chunk is only counted. A cold run's envelope
 * line is not a log; neither is the stdout of a program whose stdout is its
 * result (`protocol: 'stdout'`). `close()` sends what is left and waits for it.
 */
export class JobLogWriter {
  /** Made on a stream's first chunk: most warm calls print nothing, and a StringDecoder allocates native state. */
  private readonly streams: Partial<Record<OutputStream, StreamState>> = {};
  private pending: LogLine[] = [];
  private used = 0;
  private count = 0;
  private full = false;
  private closed = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The appends in order; none until the first batch. */
  private chain: Promise<void> | undefined;
  private readonly maxLine: number;
  private readonly maxJob: number;
  private readonly maxLines: number;
  private readonly flushMs: number;

  constructor(
    private readonly append: (lines: LogLine[]) => Promise<void>,
    private readonly protocol: 'envelope' | 'stdout',
    limits: JobLogLimits = {},
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    this.maxLine = limits.maxLineChars ?? 8192;
    this.maxJob = limits.maxJobChars ?? 1024 * 1024;
    this.maxLines = limits.maxJobLines ?? 10_000;
    this.flushMs = limits.flushMs ?? 50;
  }

  readonly onOutput: OutputListener = (stream, chunk) => {
    if (this.closed || this.full) return;
    if (stream === 'stdout' && this.protocol === 'stdout') return;
    const s = (this.streams[stream] ??= { decoder: new StringDecoder('utf8'), partial: '', skipping: false });
    const text = s.partial + (typeof chunk === 'string' ? chunk : s.decoder.write(chunk));
    const parts = text.split('\n');
    s.partial = parts.pop() ?? '';
    for (const part of parts) {
      if (s.skipping) s.skipping = false;
      else this.line(stream, part);
    }
    if (s.partial.length > this.maxLine) {
      if (!s.skipping) this.line(stream, s.partial);
      s.partial = '';
      s.skipping = true;
    }
  };

  /** Sends what is left (an unfinished last line too) and resolves when the store has it. */
  async close(): Promise<void> {
    if (!this.closed) {
      for (const stream of ['stdout', 'stderr'] as const) {
        const s = this.streams[stream];
        if (!s) continue;
        const rest = s.partial + s.decoder.end();
        if (rest !== '' && !s.skipping && !this.full) this.line(stream, rest);
      }
      this.closed = true;
      this.flush();
    }
    await this.chain;
  }

  private line(stream: OutputStream, raw: string): void {
    let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (stream === 'stdout' && text.startsWith(RESULT_MARKER)) return; // the envelope (or a copy of its mark)
    if (text.length > this.maxLine) text = `${text.slice(0, this.maxLine)}…`;
    this.used += text.length + 1;
    if (this.used > this.maxJob || ++this.count > this.maxLines) {
      this.full = true;
      this.pending.push({ stream: 'stderr', line: LIVE_LOGS_CUT, t: Date.now() });
      this.flush();
      return;
    }
    this.pending.push({ stream, line: text, t: Date.now() });
    if (!this.timer && !this.closed) this.timer = setTimeout(() => this.flush(), this.flushMs);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    // One append at a time, in order: a slow store holds batches back, never reorders them.
    this.chain = (this.chain ?? Promise.resolve()).then(() => this.append(batch)).catch((err) => this.onError(err));
  }
}

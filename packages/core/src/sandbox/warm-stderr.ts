import { readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { STDERR_END } from '../plugins/runtime-plugin.js';
import type { OutputListener } from '../plugins/sandbox.js';
import { CappedBuffer } from './capped-buffer.js';

const END_BYTES = Buffer.from(STDERR_END);
/** Bytes `drain` reads at most per call: a process the call left writing must not hold the host's event loop. */
const DRAIN_MAX_BYTES = 1024 * 1024;

/**
 * A warm instance's stderr, call by call. stderr travels apart from the
 * answer, so the host must know when a call's stderr is all there:
 * - read from a pipe the host holds (`attach` with its fd: the process
 *   sandbox's pipe, a Docker instance's named pipe), the server may ask the
 *   pipe how much of it the host has not read yet when it answers (META's
 *   `stderr`): the call wrote all its stderr before its answer, so 0 means
 *   nothing is missing, and neither side pays for an end mark (a write, a
 *   wake-up); more than 0, the host reads the pipe itself;
 * - otherwise (a server that cannot ask, or a Docker attach stream where
 *   stderr is relayed with no order to the answer and the request asks for
 *   it) the server ends the call's stderr with STDERR_END and `collect`
 *   waits for that mark.
 * Marks are never kept, whatever the mode.
 */
export class WarmStderr {
  private buf: CappedBuffer;
  /** Bytes held back because they may be the start of a mark split across chunks. */
  private held = Buffer.alloc(0);
  private ends = 0;
  private waiter: (() => void) | undefined;
  /** The current call's live-output listener (marks left out). */
  private onOutput: OutputListener | undefined;
  private stream: Readable | undefined;
  private fd: number | undefined;
  private scratch: Buffer | undefined;

  constructor(private readonly maxBytes: number) {
    this.buf = new CappedBuffer(maxBytes, 'tail');
  }

  /**
   * Reads the instance's stderr from `stream`. With `fd` (the stream's own non-blocking pipe), `collect` reads
   * the pipe itself; without, it waits for each call's end mark.
   */
  attach(stream: Readable, fd?: number): void {
    this.stream = stream;
    this.fd = fd;
    stream.on('data', (c: Buffer) => this.write(c));
  }

  /** Starts a call: what is kept so far belongs to no call; `onOutput` hears this call's stderr as it comes. */
  reset(maxBytes = this.maxBytes, onOutput?: OutputListener): void {
    this.buf = new CappedBuffer(maxBytes, 'tail');
    this.ends = 0;
    this.onOutput = onOutput;
  }

  /**
   * Keeps everything the call wrote to stderr. `answered`: its answer is in, and `unread` is what the server
   * reported of the pipe then (META's `stderr`; undefined: the server ends its stderr with a mark, waited for up to
   * `timeoutMs`). Not answered (the instance died or broke): what the pipe holds now is read (a crash's last words).
   */
  collect(answered: boolean, unread: number | undefined, timeoutMs: number): Promise<void> | undefined {
    if (this.fd === undefined || (answered && unread === undefined))
      return answered ? this.settled(timeoutMs) : undefined;
    // Chunks the stream took from the pipe but has not handed out yet are the call's too, whatever the pipe holds
    // (none while it flows: a property read to make sure).
    const stream = this.stream;
    if (stream) while (stream.readableLength > 0) if (stream.read() === null) break;
    if (!answered || unread !== 0) this.drain(this.fd); // synchronous: usually one read
    this.onOutput = undefined; // what leftovers of the call write later belongs to no job
    return undefined;
  }

  private drain(fd: number): void {
    const stream = this.stream;
    // A destroyed stream has closed its fd (the pipe ended: the server closed fd 2, or died), and the kernel hands
    // the number to the next file or socket the host opens: reading it would take another job's or client's bytes.
    // All the pipe held came through the stream before its end.
    if (!stream || stream.destroyed) return;
    this.scratch ??= Buffer.allocUnsafe(64 * 1024);
    for (let total = 0; total < DRAIN_MAX_BYTES; ) {
      const n = readNow(fd, this.scratch);
      if (n <= 0) return; // empty now, or the instance is gone
      this.write(Buffer.from(this.scratch.subarray(0, n))); // a copy: the scratch is read into again
      if (n < this.scratch.length) return; // that was all of it
      total += n;
    }
  }

  private keep(data: Buffer): void {
    this.buf.write(data);
    // Only until the call's mark: what a call's leftovers write later belongs to no job.
    if (this.ends === 0) this.onOutput?.('stderr', data);
  }

  write(chunk: Buffer): void {
    let data = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    this.held = Buffer.alloc(0);
    for (let at = data.indexOf(END_BYTES); at >= 0; at = data.indexOf(END_BYTES)) {
      if (at > 0) this.keep(data.subarray(0, at));
      data = data.subarray(at + END_BYTES.length);
      this.ends++;
    }
    // Hold back a tail that could be the beginning of a mark.
    let keep = Math.min(END_BYTES.length - 1, data.length);
    while (keep > 0 && !END_BYTES.subarray(0, keep).equals(data.subarray(data.length - keep))) keep--;
    if (data.length - keep > 0) this.keep(data.subarray(0, data.length - keep));
    this.held = Buffer.from(data.subarray(data.length - keep));
    if (this.ends > 0 && this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w();
    }
  }

  /** Resolves once the call's mark arrived, or after `timeoutMs` (a server that died mid-call writes none). */
  settled(timeoutMs: number): Promise<void> {
    if (this.ends > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve();
      }, timeoutMs);
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  toString(): string {
    return this.buf.toString() + this.held.toString();
  }

  get truncated(): boolean {
    return this.buf.truncated;
  }
}

/** One read of a non-blocking fd: bytes read, 0 at end of file, -1 when it is empty (EAGAIN) or closed. */
function readNow(fd: number, into: Buffer): number {
  // Usually the pipe is empty and readSync throws: the error's stack trace would be most of the cost.
  const traces = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return readSync(fd, into, 0, into.length, null);
  } catch {
    return -1;
  } finally {
    Error.stackTraceLimit = traces;
  }
}

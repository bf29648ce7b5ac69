/**
 * Collects a stream's bytes up to a cap, so a function that prints megabytes
 * cannot grow the host's memory. `head` keeps the first bytes (stdout, as the
 * Sandbox contract says); `tail` keeps the last bytes (stderr: the error that
 * ended the run is at the end).
 * Bytes past the cap are counted and dropped; the producer is never blocked.
 */
export class CappedBuffer {
  private chunks: Buffer[] = [];
  private kept = 0;
  /** Every byte written, kept or not. */
  total = 0;

  constructor(
    readonly maxBytes: number,
    readonly keep: 'head' | 'tail',
  ) {
    if (!Number.isFinite(maxBytes) || maxBytes < 0) throw new RangeError(`maxBytes must be >= 0, got ${maxBytes}`);
  }

  /** True once more bytes were written than kept. */
  get truncated(): boolean {
    return this.total > this.kept;
  }

  write(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.total += buf.length;
    if (this.keep === 'head') {
      const room = this.maxBytes - this.kept;
      if (room <= 0) return;
      const part = buf.length <= room ? buf : buf.subarray(0, room);
      this.chunks.push(part);
      this.kept += part.length;
      return;
    }
    // tail: append, then drop whole or partial chunks from the front.
    if (buf.length >= this.maxBytes) {
      // copy so the big source chunk can be freed
      this.chunks = this.maxBytes > 0 ? [Buffer.from(buf.subarray(buf.length - this.maxBytes))] : [];
      this.kept = this.maxBytes;
      return;
    }
    this.chunks.push(buf);
    this.kept += buf.length;
    while (this.kept > this.maxBytes) {
      const first = this.chunks[0]!;
      const over = this.kept - this.maxBytes;
      if (first.length <= over) {
        this.chunks.shift();
        this.kept -= first.length;
      } else {
        this.chunks[0] = first.subarray(over);
        this.kept -= over;
      }
    }
  }

  toBuffer(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks, this.kept)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  /** UTF-8 text of what was kept (a character cut at the cap becomes U+FFFD). */
  toString(): string {
    return this.toBuffer().toString('utf8');
  }
}

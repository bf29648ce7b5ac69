import type { Readable } from 'node:stream';

/**
 * Keeps at most `max` bytes of a stream: the head (stdout, where the result
 * envelope is) or the tail (stderr, where the last error is). Memory stays
 * bounded whatever the program prints.
 */
export class CappedCapture {
  private chunks: Buffer[] = [];
  private kept = 0;
  truncated = false;

  constructor(
    private readonly max: number,
    private readonly keep: 'head' | 'tail',
  ) {}

  write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.keep === 'head') {
      const room = this.max - this.kept;
      if (room <= 0) {
        this.truncated = true;
        return;
      }
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      if (part.length < chunk.length) this.truncated = true;
      this.chunks.push(Buffer.from(part));
      this.kept += part.length;
      return;
    }
    this.chunks.push(Buffer.from(chunk));
    this.kept += chunk.length;
    // Drop whole chunks from the front; the last partial trim happens in text().
    while (this.chunks.length > 1 && this.kept - this.chunks[0]!.length >= this.max) {
      this.kept -= this.chunks.shift()!.length;
      this.truncated = true;
    }
    if (this.kept > this.max) this.truncated = true;
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return (all.length > this.max ? all.subarray(all.length - this.max) : all).toString('utf8');
  }
}

/**
 * Splits Docker's multiplexed attach stream (8-byte header: stream type, 3
 * zero bytes, big-endian length; then the payload) into stdout and stderr.
 * Resolves when the stream ends or closes.
 */
export function demuxDockerStream(stream: Readable | NodeJS.ReadableStream, stdout: CappedCapture, stderr: CappedCapture): Promise<void> {
  let pending = Buffer.alloc(0);
  let frameType = -1;
  let frameLeft = 0;

  const onData = (data: Buffer) => {
    let buf = pending.length > 0 ? Buffer.concat([pending, data]) : data;
    pending = Buffer.alloc(0);
    while (buf.length > 0) {
      if (frameLeft === 0) {
        if (buf.length < 8) {
          pending = Buffer.from(buf);
          return;
        }
        frameType = buf.readUInt8(0);
        frameLeft = buf.readUInt32BE(4);
        buf = buf.subarray(8);
        continue;
      }
      const take = Math.min(frameLeft, buf.length);
      const payload = buf.subarray(0, take);
      // Type 2 is stderr; 1 is stdout (0, stdin echo, never comes without a TTY).
      (frameType === 2 ? stderr : stdout).write(payload);
      frameLeft -= take;
      buf = buf.subarray(take);
    }
  };

  return new Promise((resolve) => {
    const done = () => {
      stream.removeListener('data', onData);
      resolve();
    };
    stream.on('data', onData);
    stream.once('end', done);
    stream.once('close', done);
    // A broken attach connection loses output but must not fail the run.
    stream.once('error', done);
  });
}

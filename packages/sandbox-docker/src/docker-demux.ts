import type { Readable } from 'node:stream';
import type { CappedBuffer, OutputListener } from '@nanogrid/core';

/**
 * Splits Docker's multiplexed attach stream (8-byte header: stream type, 3
 * zero bytes, big-endian length; then the payload) into stdout and stderr.
 * Resolves when the stream ends or closes. `onOutput` hears each payload as it comes (live logs).
 */
export function demuxDockerStream(
  stream: Readable | NodeJS.ReadableStream,
  stdout: CappedBuffer,
  stderr: CappedBuffer,
  onOutput?: OutputListener,
): Promise<void> {
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
      onOutput?.(frameType === 2 ? 'stderr' : 'stdout', payload);
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
    stream.on('error', done);
  });
}

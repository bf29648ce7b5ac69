// One host process of `nanogrid start --processes N` (forked by processes.ts): starts a host from the options the
// primary put in its environment, reports its URL, and stops gracefully when the primary says so or goes away.
import { isNanoGridError } from '@nanogrid/core';
import { PROCESS_OPTIONS_ENV, type ProcessStartOptions } from './processes.js';
import { startHost } from './start-host.js';

const send = (m: unknown): void => {
  process.send?.(m);
};
// A Ctrl-C reaches the whole process group: the primary decides when this process stops.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);

const options = JSON.parse(process.env[PROCESS_OPTIONS_ENV] ?? '{}') as ProcessStartOptions;
try {
  const host = await startHost({ ...options, handleSignals: false });
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    host.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'nanogrid:shutdown') stop();
  });
  process.on('disconnect', stop);
  send({ type: 'nanogrid:ready', url: host.url, role: host.role });
} catch (err) {
  send({
    type: 'nanogrid:failed',
    code: isNanoGridError(err) ? err.code : 'INTERNAL',
    message: (err as Error).message,
  });
  process.exitCode = 1;
  process.disconnect?.();
}

// A host for a bench: its own temporary data dir, a random port on loopback, no signal handlers.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Starts `startHost` (this checkout's or a baseline's) with `config` (the data dir is added); `close()` stops the
 * host and removes the dir.
 */
export async function startBenchHost({ startHost, logger, prefix, config }) {
  const dataDir = await mkdtemp(join(tmpdir(), `${prefix}-`));
  const host = await startHost({
    config: { dataDir, ...config },
    port: 0,
    hostname: '127.0.0.1',
    handleSignals: false,
    logger,
    cwd: dataDir,
  });
  const close = async () => {
    await host.close();
    await rm(dataDir, { recursive: true, force: true });
  };
  return { host, close };
}

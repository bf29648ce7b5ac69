import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bubblewrapStatus, isNanoGridError, type Logger } from '@nanogrid/core';
import { detectDocker } from '@nanogrid/sandbox-docker';
import { dockerTestEnv } from '@nanogrid/sandbox-docker/testing';
import { pickSandbox } from '../src/pick-sandbox.js';

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
}

const nowhere = { socketPath: '/nonexistent/nanogrid-test/docker.sock' };

describe('detectDocker', () => {
  let silent: Server;
  const held: Socket[] = [];
  beforeAll(async () => {
    // Accepts connections and never answers: an engine that hangs.
    silent = createServer((sock) => held.push(sock));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const s of held) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('is false when nothing listens', async () => {
    expect(await detectDocker(nowhere)).toBe(false);
  });

  it('is false, within its timeout, when the engine does not answer', async () => {
    const started = Date.now();
    const port = (silent.address() as AddressInfo).port;
    expect(await detectDocker({ host: '127.0.0.1', port, timeoutMs: 300 })).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

// The real bubblewrap probe of this machine (CI installs bubblewrap, so there it works).
const bwrap = bubblewrapStatus();
if (process.env.CI === 'true' && !bwrap.ok) throw new Error(`bubblewrap must work with CI=true: ${bwrap.reason}`);

describe('pickSandbox (the real probes)', () => {
  it.runIf(bwrap.ok)('gives the isolated process sandbox when asked, and says so', async () => {
    const log = recordingLogger();
    const sandbox = await pickSandbox('process', log);
    expect(sandbox.name).toBe('process');
    expect(sandbox.isolated).toBe(true);
    expect(sandbox.cleanupOrphans).toBeUndefined();
    expect(log.lines.some((l) => l.startsWith('sandbox: process'))).toBe(true);
  });

  it.runIf(bwrap.ok)('falls back to the process sandbox in bubblewrap under auto when no engine answers', async () => {
    const log = recordingLogger();
    const sandbox = await pickSandbox('auto', log, { docker: nowhere, detectTimeoutMs: 500 });
    expect(sandbox.name).toBe('process');
    expect(sandbox.isolated).toBe(true);
    expect(log.lines.some((l) => l.includes('no Docker engine answers'))).toBe(true);
  });

  it.runIf(!bwrap.ok)('refuses auto on this machine without Docker or a working bubblewrap', async () => {
    const err = await pickSandbox('auto', recordingLogger(), { docker: nowhere, detectTimeoutMs: 500 }).catch(
      (e: unknown) => e,
    );
    expect(isNanoGridError(err, 'SANDBOX_UNAVAILABLE')).toBe(true);
  });

  it('refuses docker when no engine answers', async () => {
    const err = await pickSandbox('docker', recordingLogger(), { docker: nowhere, detectTimeoutMs: 500 }).catch(
      (e: unknown) => e,
    );
    expect(isNanoGridError(err, 'SANDBOX_ERROR')).toBe(true);
  });
});

const env = await dockerTestEnv([]);

describe.skipIf(!env.ready)('pickSandbox with a Docker engine', () => {
  it('picks docker under auto and says so', async () => {
    const log = recordingLogger();
    const sandbox = await pickSandbox('auto', log);
    expect(sandbox.name).toBe('docker');
    expect(typeof sandbox.cleanupOrphans).toBe('function');
    expect(log.lines.some((l) => l.startsWith('sandbox: docker'))).toBe(true);
    await sandbox.close?.();
  });
});

import type { JobRecord } from '@nanogrid/core';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Whether a real redis-server can be started. With CI=true a missing binary
 * throws (the test file fails); locally the tests skip and this says why
 * (`apt-get install -y redis-server`).
 */
export function redisTestEnv(): { ready: boolean; reason: string } {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.status === 0) return { ready: true, reason: '' };
  const reason = 'redis-server is not installed (apt-get install -y redis-server)';
  if (process.env.CI === 'true') throw new Error(`Redis tests cannot run with CI=true: ${reason}`);
  console.warn(`Redis tests skipped: ${reason}`);
  return { ready: false, reason };
}

export interface LocalRedis {
  port: number;
  url: string;
  /** Stops the server (SIGTERM) and waits for it to exit. Data is gone unless it runs with `appendOnly`. */
  stop(): Promise<void>;
  /** Kills the server (SIGKILL), as a crash would, and waits for it to be gone. */
  crash(): Promise<void>;
  /** Starts it again on the same port (after `stop`). */
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  dispose(): Promise<void>;
}

/** A free TCP port on the loopback (the listener is closed before redis-server binds it). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface RedisServerOptions {
  /** Persist every write to an append-only file (fsync always), so a restart or crash keeps the data. @default false */
  appendOnly?: boolean;
}

function launch(port: number, dir: string, opts: RedisServerOptions): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      opts.appendOnly ? 'yes' : 'no',
      ...(opts.appendOnly ? ['--appendfsync', 'always'] : []),
      '--dir',
      dir,
      '--daemonize',
      'no',
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    const log: string[] = [];
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited early with code ${code}:\n${log.join('\n')}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log.push(line);
      if (line.includes('Ready to accept connections')) resolve(child);
    });
  });
}

/** Starts a real redis-server on a random loopback port, without persistence unless asked. */
export async function startRedisServer(opts: RedisServerOptions = {}): Promise<LocalRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'nanogrid-redis-'));
  let child: ChildProcess | undefined;
  let port = 0;
  // A port found free can be taken before redis-server binds it: try a few.
  for (let i = 0; ; i += 1) {
    port = await freePort();
    try {
      child = await launch(port, dir, opts);
      break;
    } catch (err) {
      if (i >= 4) throw err;
    }
  }
  const stopChild = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill(signal);
    await exited;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      if (!child) child = await launch(port, dir, opts);
    },
    async stop() {
      await stopChild();
    },
    async crash() {
      await stopChild('SIGKILL');
    },
    async dispose() {
      await stopChild();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A key prefix no other test uses. */
export function uniquePrefix(tag = 't'): string {
  return `ng-test:${tag}-${randomBytes(5).toString('hex')}:`;
}

/** `rec` finished: completed with `result`, stamped now. */
export const done = (rec: JobRecord, result: unknown = { ok: true }): JobRecord => ({
  ...rec,
  status: 'completed',
  result,
  finished_at: new Date().toISOString(),
});

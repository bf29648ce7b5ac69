import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { openDocker } from '../src/docker-client.js';
import { isOrphan, LABEL, pidAlive } from '../src/docker-orphans.js';
import { dockerSandbox } from '../src/docker-sandbox.js';
import { containersLabelled, dockerTestEnv, PYTHON_IMAGE } from './helpers/docker-env.js';

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

describe('isOrphan', () => {
  const ctx = { workerId: 'w-now', hostname: 'host-a', pid: 100, startedAt: 1_000_000 };
  const info = (labels: Record<string, string>, createdSec = 900) => ({ labels, createdMs: createdSec * 1000 });

  it("ignores containers that are not NanoGrid's", () => {
    expect(isOrphan(info({ [LABEL.worker]: 'w-now' }), ctx, { all: true })).toBe(false);
  });

  it('takes every NanoGrid container with all', () => {
    expect(isOrphan(info({ nanogrid: '1', [LABEL.worker]: 'other' }), ctx, { all: true })).toBe(true);
  });

  it('takes containers of this worker id from before this sandbox existed, not newer ones', () => {
    expect(isOrphan(info({ nanogrid: '1', [LABEL.worker]: 'w-now' }, 999.999), ctx, {})).toBe(true);
    expect(isOrphan(info({ nanogrid: '1', [LABEL.worker]: 'w-now' }, 1000), ctx, {})).toBe(false);
  });

  it('keeps containers of other hosts unless they are older than olderThanMs', () => {
    const other = info({ nanogrid: '1', [LABEL.worker]: 'w-b', [LABEL.host]: 'host-b', [LABEL.pid]: '1' }, 900);
    expect(isOrphan(other, ctx, {}, 1_000_000)).toBe(false);
    expect(isOrphan(other, ctx, { olderThanMs: 60_000 }, 1_000_000)).toBe(true);
  });
});

describe('pidAlive', () => {
  it('is true for a live process and false for one that exited', async () => {
    expect(pidAlive(process.pid)).toBe(true);
    expect(pidAlive(await deadPid())).toBe(false);
  });

  it.runIf(process.platform === 'linux')(
    "is false for the id of a thread: a dead worker's pid reused by a thread is no worker",
    () => {
      // Node always runs helper threads (libuv pool, V8 platform); their ids answer signal 0.
      const threads = readdirSync('/proc/self/task')
        .map(Number)
        .filter((tid) => tid !== process.pid);
      expect(threads.length).toBeGreaterThan(0);
      for (const tid of threads) expect(pidAlive(tid)).toBe(false);
    },
  );
});

const env = await dockerTestEnv();

describe.skipIf(!env.ready)('dockerSandbox.cleanupOrphans', () => {
  const made: string[] = [];
  afterAll(async () => {
    const docker = await openDocker();
    await Promise.all(
      made.map((id) =>
        docker
          .getContainer(id)
          .remove({ force: true, v: true })
          .catch(() => undefined),
      ),
    );
  });

  /** A running container labelled as if a worker with this pid had started it. */
  async function leftover(pid: number, tag: string): Promise<string> {
    const docker = await openDocker();
    const c = await docker.createContainer({
      Image: PYTHON_IMAGE,
      Cmd: ['sleep', '120'],
      Labels: {
        [LABEL.marker]: '1',
        [LABEL.worker]: `crashed-${pid}`,
        [LABEL.host]: hostname(),
        [LABEL.pid]: String(pid),
        'nanogrid.test': tag,
      },
      HostConfig: { NetworkMode: 'none', LogConfig: { Type: 'none', Config: {} } },
      Volumes: { '/output': {} },
    });
    made.push(c.id);
    await c.start();
    return c.id;
  }

  it('removes containers of a worker process that is gone, keeps those of live ones', async () => {
    const tag = `orphans-${Date.now()}`;
    const dead = await leftover(await deadPid(), tag);
    const live = await leftover(process.ppid, tag);
    const sandbox = dockerSandbox({ workerId: `test-worker-${Date.now()}` });
    const removed = await sandbox.cleanupOrphans();
    expect(removed).toBeGreaterThanOrEqual(1);
    const left = await containersLabelled('nanogrid.test', tag);
    expect(left).not.toContain(dead);
    expect(left).toContain(live);
    await sandbox.close();
  });

  it('removes the containers of a restarted worker that keeps its id', async () => {
    const tag = `restart-${Date.now()}`;
    const docker = await openDocker();
    const workerId = `stable-${Date.now()}`;
    const c = await docker.createContainer({
      Image: PYTHON_IMAGE,
      Cmd: ['sleep', '120'],
      Labels: { [LABEL.marker]: '1', [LABEL.worker]: workerId, 'nanogrid.test': tag },
      HostConfig: { NetworkMode: 'none' },
    });
    made.push(c.id);
    await c.start();
    // The "restarted" worker's sandbox is made after the container.
    const sandbox = dockerSandbox({ workerId });
    expect(await sandbox.cleanupOrphans()).toBeGreaterThanOrEqual(1);
    expect(await containersLabelled('nanogrid.test', tag)).toEqual([]);
    await sandbox.close();
  });
});

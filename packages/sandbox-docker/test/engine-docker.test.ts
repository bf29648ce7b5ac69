import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type NanoGrid, type Role, type RuntimePlugin, silentLogger } from '@nanogrid/core';
import { openDocker } from '../src/docker-client.js';
import { LABEL } from '../src/docker-orphans.js';
import { dockerSandbox } from '../src/docker-sandbox.js';
import { PYTHON_IMAGE, containersLabelled, dockerTestEnv } from './helpers/docker-env.js';
import { composeInDir } from './helpers/compose-in-dir.js';

/** A shell runtime (stdout protocol): the engine is language-agnostic. */
const shRuntime: RuntimePlugin = {
  name: 'sh',
  runtimes: ['sh'],
  extensions: ['.sh'],
  image: PYTHON_IMAGE,
  defaultHandler: 'main.handler',
  bootstrap: {},
  protocol: 'stdout',
  entry: (fn) => ['sh', fn.entryFile],
};

const env = await dockerTestEnv();

/** The pid of a process that has exited: a worker that crashed. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

describe.skipIf(!env.ready)('worker start-up through composeNanoGrid (Docker sandbox)', () => {
  const made: string[] = [];
  const dirs: string[] = [];
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
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  /** A running container labelled the way the Docker sandbox labels its runs, as if the worker with this pid had started it. */
  async function leftover(pid: number, tag: string): Promise<string> {
    const docker = await openDocker();
    const c = await docker.createContainer({
      Image: PYTHON_IMAGE,
      Cmd: ['sleep', '300'],
      Labels: {
        [LABEL.marker]: '1',
        [LABEL.worker]: `crashed-${pid}`,
        [LABEL.host]: hostname(),
        [LABEL.pid]: String(pid),
        [LABEL.run]: `run-${pid}`,
        'nanogrid.test': tag,
      },
      HostConfig: { NetworkMode: 'none', LogConfig: { Type: 'none', Config: {} } },
    });
    made.push(c.id);
    await c.start();
    return c.id;
  }

  async function compose(role: Role): Promise<NanoGrid> {
    const dir = await mkdtemp(join(tmpdir(), 'nanogrid-engine-docker-'));
    dirs.push(dir);
    // A worker needs shared pieces; the in-memory queue and results composeInDir passes stand for them.
    return composeInDir(dir, {
      role,
      sandbox: dockerSandbox({ logger: silentLogger }),
      worker: { concurrency: 1, pollWaitMs: 500 },
      runtimes: [shRuntime],
    });
  }

  it('a worker removes the containers a crashed worker left, keeps those of live workers, then runs jobs', async () => {
    const tag = `compose-orphans-${Date.now()}`;
    const crashed = await leftover(await deadPid(), tag);
    // The parent of this test process is alive: its "runs" must survive.
    const live = await leftover(process.ppid, tag);

    // A controller runs no code: it leaves containers alone.
    const controller = await compose('controller');
    expect(await containersLabelled('nanogrid.test', tag)).toEqual(expect.arrayContaining([crashed, live]));
    await controller.close();

    const worker = await compose('worker');
    try {
      expect(worker.sandbox.name).toBe('docker');
      const left = await containersLabelled('nanogrid.test', tag);
      expect(left).not.toContain(crashed);
      expect(left).toContain(live);

      worker.worker?.start();
      const fn = await worker.registry.deploy({
        functionName: 'after-cleanup',
        runtime: 'sh',
        fileName: 'after.sh',
        data: Buffer.from('echo \'{"ok":true}\'\n'),
      });
      const { record } = await worker.jobs.submit(fn.function_id, {});
      expect(await worker.jobs.wait(record.job_id, { timeoutMs: 30_000 })).toMatchObject({
        status: 'completed',
        result: { ok: true },
      });
    } finally {
      await worker.close();
    }
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ALLOW_UNISOLATED_ENV,
  type BubblewrapStatus,
  bubblewrapStatus,
  composeNanoGrid,
  isNanoGridError,
  type Logger,
  memoryQueue,
  memoryResults,
  type NanoGridError,
} from '@nanogrid/core';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultRuntimes, pickSandbox, type SandboxProbe, sandboxPicker, validateConfig } from '../src/index.js';

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
}

const IMAGES = ['nanogrid/python:3', 'nanogrid/node:18'];
const noBwrap: BubblewrapStatus = { ok: false, reason: 'bubblewrap (bwrap) is not on the PATH' };

/** A machine described by hand, so each path is taken whatever this one has. */
function machine(docker: 'none' | 'no-images' | 'some-images' | 'images', bwrap: BubblewrapStatus): SandboxProbe {
  return {
    async docker(images) {
      if (docker === 'none') return { answers: false };
      const missing = docker === 'images' ? [] : docker === 'some-images' ? images.slice(1) : [...images];
      return { answers: true, missing };
    },
    bubblewrap: () => bwrap,
  };
}

const refusal = async (p: Promise<unknown>): Promise<NanoGridError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isNanoGridError(err, 'SANDBOX_UNAVAILABLE')).toBe(true);
  return err as NanoGridError;
};

describe('sandbox "auto" never runs code unisolated silently', () => {
  it('refuses when there is no Docker engine and no working bubblewrap, naming every fix', async () => {
    const err = await refusal(
      pickSandbox('auto', recordingLogger(), { images: IMAGES, probe: machine('none', noBwrap), env: {} }),
    );
    expect(err.message).toMatch(/no Docker engine answers/);
    expect(err.message).toMatch(/bwrap\) is not on the PATH/);
    expect(err.message).toMatch(/build-images\.sh/);
    expect(err.message).toMatch(/apt-get install bubblewrap/);
    expect(err.message).toContain("isolation: 'none'");
    expect(err.message).toContain(`${ALLOW_UNISOLATED_ENV}=1`);
    expect(err.details?.['reasons']).toHaveLength(2);
  });

  it('refuses when the engine answers without any runtime image and bubblewrap does not work', async () => {
    const broken: BubblewrapStatus = { ok: false, reason: 'bubblewrap (/usr/bin/bwrap) does not work here: EPERM' };
    const err = await refusal(
      pickSandbox('auto', recordingLogger(), { images: IMAGES, probe: machine('no-images', broken), env: {} }),
    );
    expect(err.message).toMatch(/none of the runtime images/);
    expect(err.message).toMatch(/does not work here: EPERM/);
  });

  it('refuses an explicit "process" without a working bubblewrap too', async () => {
    await refusal(pickSandbox('process', recordingLogger(), { probe: machine('images', noBwrap), env: {} }));
  });

  it("runs plain host processes when the config says isolation: 'none', and warns", async () => {
    const log = recordingLogger();
    const sandbox = await pickSandbox({ kind: 'process', isolation: 'none' }, log, {
      probe: machine('none', noBwrap),
      env: {},
    });
    expect(sandbox.name).toBe('process');
    expect(sandbox.isolated).toBe(false);
    expect(log.lines.some((l) => l.includes('UNISOLATED') && l.includes("isolation: 'none'"))).toBe(true);
  });

  it(`runs plain host processes under auto when ${ALLOW_UNISOLATED_ENV}=1, and warns`, async () => {
    const log = recordingLogger();
    const sandbox = await pickSandbox('auto', log, {
      images: IMAGES,
      probe: machine('none', noBwrap),
      env: { [ALLOW_UNISOLATED_ENV]: '1' },
    });
    expect(sandbox.isolated).toBe(false);
    expect(log.lines.some((l) => l.includes('UNISOLATED') && l.includes(ALLOW_UNISOLATED_ENV))).toBe(true);
    // Any other value is not a yes.
    await refusal(
      pickSandbox('auto', recordingLogger(), {
        images: IMAGES,
        probe: machine('none', noBwrap),
        env: { [ALLOW_UNISOLATED_ENV]: 'true' },
      }),
    );
  });

  it('takes Docker when the engine has the images, even with no bubblewrap', async () => {
    const log = recordingLogger();
    const sandbox = await pickSandbox('auto', log, { images: IMAGES, probe: machine('images', noBwrap), env: {} });
    expect(sandbox.name).toBe('docker');
    expect(log.lines.some((l) => l.startsWith('sandbox: docker'))).toBe(true);
    expect(log.lines.some((l) => l.includes('lacks some runtime images'))).toBe(false);
    await sandbox.close?.();
  });

  it('takes Docker when the engine has some of the images, warning about the rest', async () => {
    const log = recordingLogger();
    const sandbox = await pickSandbox('auto', log, { images: IMAGES, probe: machine('some-images', noBwrap), env: {} });
    expect(sandbox.name).toBe('docker');
    expect(log.lines.some((l) => l.includes('lacks some runtime images'))).toBe(true);
    await sandbox.close?.();
  });

  it.runIf(bubblewrapStatus().ok)('takes the process sandbox in bubblewrap when bubblewrap works', async () => {
    const sandbox = await pickSandbox('auto', recordingLogger(), {
      images: IMAGES,
      probe: machine('no-images', bubblewrapStatus()),
      env: {},
    });
    expect(sandbox.name).toBe('process');
    expect(sandbox.isolated).toBe(true);
  });
});

describe('a host on such a machine', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('does not compose a worker: SANDBOX_UNAVAILABLE, and the queue it opened is closed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nanogrid-isolation-'));
    dirs.push(dir);
    let closed = false;
    const queue = memoryQueue();
    const close = queue.close.bind(queue);
    queue.close = async () => {
      closed = true;
      await close();
    };
    await refusal(
      composeNanoGrid(
        { dataDir: dir, queue, results: memoryResults(), runtimes: defaultRuntimes() },
        { runtimes: [], cwd: dir, pickSandbox: sandboxPicker({ probe: machine('none', noBwrap), env: {} }) },
      ),
    );
    expect(closed).toBe(true);
  });

  it('the config accepts { kind, isolation } and names a wrong value', () => {
    expect(validateConfig({ sandbox: { kind: 'process', isolation: 'none' } })).toBeTruthy();
    expect(() => validateConfig({ sandbox: { kind: 'process', isolation: 'off' } } as never, 'x.ts')).toThrow(
      /sandbox\.isolation/,
    );
    expect(() => validateConfig({ sandbox: { kind: 'vm' } } as never, 'x.ts')).toThrow(/sandbox\.kind/);
  });
});

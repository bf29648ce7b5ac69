import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { SandboxRunSpec } from '@nanogrid/core';
import { openDocker } from '../../src/docker-client.js';
import { dockerTestEnv as envFor } from '../../src/testing/docker-test-env.js';

export const PYTHON_IMAGE = 'nanogrid/python:3';

/** Docker engine + images present? (throws with CI=true when not). */
export const dockerTestEnv = (images: string[] = [PYTHON_IMAGE]) => envFor(images);

/** Temporary code/output dirs per case, removed by `cleanup()`. */
export async function caseDirs(prefix: string): Promise<{
  spec(files: Record<string, string>, command: string[], extra?: Partial<SandboxRunSpec>): Promise<SandboxRunSpec>;
  cleanup(): Promise<void>;
}> {
  const root = await mkdtemp(join(tmpdir(), `${prefix}-`));
  let n = 0;
  return {
    async spec(files, command, extra = {}) {
      const dir = join(root, `case-${++n}`);
      const codeDir = join(dir, 'code');
      await mkdir(codeDir, { recursive: true });
      for (const [name, text] of Object.entries(files)) {
        await mkdir(dirname(join(codeDir, name)), { recursive: true });
        await writeFile(join(codeDir, name), text);
      }
      return {
        image: PYTHON_IMAGE,
        command,
        codeDir,
        outputDir: join(dir, 'out'),
        env: {},
        timeoutMs: 20_000,
        memoryMb: 256,
        network: 'none',
        ...extra,
      };
    },
    async cleanup() {
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Containers carrying a label (any state). */
export async function containersLabelled(key: string, value: string): Promise<string[]> {
  const docker = await openDocker();
  const list = await docker.listContainers({
    all: true,
    filters: JSON.stringify({ label: [`${key}=${value}`] }),
  } as object);
  return list.map((c) => c.Id);
}

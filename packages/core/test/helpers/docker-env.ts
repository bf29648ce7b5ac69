import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { SandboxRunSpec } from '../../src/index.js';
import { detectDocker, openDocker } from '../../src/sandbox/docker-client.js';

export const PYTHON_IMAGE = 'nanogrid/python:3';

/**
 * Whether the Docker tests can run: the engine answers and the images exist.
 * With CI=true a missing engine or image throws (the file fails); locally the
 * tests skip and this says why.
 */
export async function dockerTestEnv(images: string[] = [PYTHON_IMAGE]): Promise<{ ready: boolean; reason: string }> {
  let reason = '';
  if (!(await detectDocker({ timeoutMs: 3000 }))) {
    reason = 'the Docker engine does not answer (run scripts/ensure-docker.sh)';
  } else {
    const docker = await openDocker();
    for (const image of images) {
      try {
        await docker.getImage(image).inspect();
      } catch {
        reason = `the image ${image} is missing (run scripts/build-images.sh)`;
        break;
      }
    }
  }
  if (!reason) return { ready: true, reason };
  if (process.env.CI === 'true') throw new Error(`Docker tests cannot run with CI=true: ${reason}`);
  console.warn(`Docker tests skipped: ${reason}`);
  return { ready: false, reason };
}

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
  const list = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${key}=${value}`] }) } as object);
  return list.map((c) => c.Id);
}

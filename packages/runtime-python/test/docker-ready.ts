import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectDocker, dockerSandbox, isNanoGridError } from '@nanogrid/core';

/**
 * Whether the runtime's image can run here: the engine answers and the image
 * exists (probed with one tiny run through the Sandbox interface). With CI=true
 * a miss throws, so the file fails; locally the Docker suite skips and says why.
 */
export async function dockerReady(image: string, command: string[]): Promise<boolean> {
  let reason = '';
  if (!(await detectDocker({ timeoutMs: 3000 }))) {
    reason = 'the Docker engine does not answer (run scripts/ensure-docker.sh)';
  } else {
    const sandbox = dockerSandbox();
    const dir = await mkdtemp(join(tmpdir(), 'nanogrid-docker-probe-'));
    try {
      const spec = { image, command, codeDir: dir, outputDir: join(dir, 'out'), env: {}, timeoutMs: 20_000, memoryMb: 128, network: 'none' as const };
      await sandbox.run(spec);
    } catch (err) {
      reason = isNanoGridError(err, 'IMAGE_NOT_FOUND') ? `the image ${image} is missing (run scripts/build-images.sh)` : `probe run failed: ${String(err)}`;
    } finally {
      await sandbox.close();
      await rm(dir, { recursive: true, force: true });
    }
  }
  if (!reason) return true;
  if (process.env.CI === 'true') throw new Error(`Docker runtime tests cannot run with CI=true: ${reason}`);
  console.warn(`Docker runtime tests skipped: ${reason}`);
  return false;
}

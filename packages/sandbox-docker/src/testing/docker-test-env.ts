import { detectDocker, openDocker } from '../docker-client.js';

/**
 * Whether Docker tests can run here: the engine answers and every image
 * exists. With CI=true a missing engine or image throws (the test file
 * fails, it never skips); otherwise the tests skip and this says why.
 */
export async function dockerTestEnv(images: string[]): Promise<{ ready: boolean; reason: string }> {
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

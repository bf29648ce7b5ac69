import type { Sandbox } from '@nanogrid/core';
import { pythonRuntime } from '@nanogrid/runtime-python';

/**
 * Resolves once the sandbox holds `count` Python spares of 512 MiB (compose started them at boot; this waits
 * for the same fill, or refills after a test took one).
 */
export async function pythonSparesReady(sandbox: Sandbox, count: number): Promise<void> {
  const py = pythonRuntime();
  await sandbox.prewarm?.({
    image: py.image,
    command: py.serve!.prewarm!,
    count,
    memoryMb: 512,
    files: py.bootstrap,
  });
}

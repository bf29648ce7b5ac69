import type { RuntimePlugin } from '@nanogrid/core';
import { cppRuntime } from '@nanogrid/runtime-cpp';
import { goRuntime } from '@nanogrid/runtime-go';
import { nodeRuntime } from '@nanogrid/runtime-node';
import { pythonRuntime } from '@nanogrid/runtime-python';

/**
 * Runtimes served when the config names none. Order matters only when two
 * plugins accept the same runtime id (the first wins).
 */
export function defaultRuntimes(): RuntimePlugin[] {
  return [
    pythonRuntime(),
    // The "fat" image (numpy, pandas, pillow, requests) under its own ids: `python3-fat`, `python3.11-fat`.
    pythonRuntime({
      name: 'python-fat',
      image: 'nanogrid/python-fat:3',
      runtimes: ['python-fat', 'python3-fat', /^python3\.\d+-fat$/],
    }),
    nodeRuntime(),
    // Compiled at deploy: g++ / go must be in the image (Docker) or on the host (process sandbox).
    cppRuntime(),
    goRuntime(),
  ];
}

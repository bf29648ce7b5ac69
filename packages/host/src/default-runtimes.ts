import type { RuntimePlugin } from '@nanogrid/core';
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
    pythonRuntime({ name: 'python-fat', image: 'nanogrid/python-fat:3', runtimes: ['python-fat', 'python3-fat', /^python3\.\d+-fat$/] }),
    nodeRuntime(),
    // C++ and Go join here once @nanogrid/runtime-cpp / runtime-go export their
    // factories (cppRuntime(), goRuntime()); both packages are already dependencies.
  ];
}

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
    nodeRuntime(),
    // C++ and Go join here once @nanogrid/runtime-cpp / runtime-go export their
    // factories (cppRuntime(), goRuntime()); both packages are already dependencies.
  ];
}

import { runtimeMatches, shellQuote } from '@nanogrid/core';
import { describe, expect, it } from 'vitest';
import { cppRuntime } from '../src/index.js';

describe('cppRuntime', () => {
  it('serves the C++ runtime ids and no others', () => {
    const rt = cppRuntime();
    for (const id of ['cpp', 'c++', 'cxx', 'gcc', 'cpp17', 'cpp20', 'g++12']) expect(runtimeMatches(rt, id)).toBe(true);
    for (const id of ['python3.9', 'cpp9', 'go', 'c']) expect(runtimeMatches(rt, id)).toBe(false);
  });

  it('builds every source with the given flags into $OUTPUT_DIR/main, and runs it with the event on stdin', () => {
    const rt = cppRuntime({ flags: ['-O3', "-DNAME='x'"], image: 'my/cpp:1' });
    const cmd = rt.build?.command({ runtime: 'cpp', handler: 'main.main', entryFile: 'main.cpp' }) ?? [];
    expect(cmd.slice(0, 2)).toEqual(['sh', '-c']);
    expect(cmd[2]).toContain(`'-O3' ${shellQuote("-DNAME='x'")}`);
    expect(cmd[2]).toContain('-o "$OUTPUT_DIR/main"');
    expect(rt).toMatchObject({
      image: 'my/cpp:1',
      protocol: 'stdout',
      takesHandler: false,
      extensions: ['.cpp', '.cc', '.cxx'],
    });
    expect(rt.entry({ runtime: 'cpp', handler: 'main.main', entryFile: 'main.cpp' })).toEqual(['./main']);
  });
});

import { runtimeMatches } from '@nanogrid/core';
import { describe, expect, it } from 'vitest';
import { goRuntime } from '../src/index.js';

describe('goRuntime', () => {
  it('serves the Go runtime ids and no others', () => {
    const rt = goRuntime();
    for (const id of ['go', 'golang', 'go1.x', 'go1.19', 'go1.21.3']) expect(runtimeMatches(rt, id)).toBe(true);
    for (const id of ['go2', 'python3.9', 'gopher', 'cpp']) expect(runtimeMatches(rt, id)).toBe(false);
  });

  it('builds offline (no proxy, cache in the temp dir) into $OUTPUT_DIR/main', () => {
    const rt = goRuntime({ image: 'my/go:1' });
    const script = rt.build?.command({ runtime: 'go', handler: 'main.main', entryFile: 'main.go' })[2] ?? '';
    expect(script).toContain('GOPROXY=off');
    expect(script).toContain('GOCACHE="$t/go-cache"');
    expect(script).toContain('-o "$OUTPUT_DIR/main" .');
    expect(rt).toMatchObject({ image: 'my/go:1', protocol: 'stdout', takesHandler: false, extensions: ['.go'] });
  });
});

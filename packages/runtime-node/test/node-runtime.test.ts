import { readFileSync } from 'node:fs';
import { RESULT_MARKER, runtimeMatches } from '@nanogrid/core';
import { pythonRuntime } from '@nanogrid/runtime-python';
import { describe, expect, it } from 'vitest';
import { NODE_BOOTSTRAP_FILE, nodeRuntime } from '../src/index.js';

describe('nodeRuntime', () => {
  it.each(['node', 'nodejs', 'nodejs18.x', 'nodejs20.x', 'nodejs22', 'node20'])('serves runtime id %s', (id) => {
    expect(runtimeMatches(nodeRuntime(), id)).toBe(true);
  });

  it.each(['ruby', 'nodejs18.y', 'node.js', 'nodejs.x', 'python3.9', 'deno'])('does not serve %s', (id) => {
    expect(runtimeMatches(nodeRuntime(), id)).toBe(false);
  });

  it('resolves each id to exactly one of the two runtimes, and ruby to none', () => {
    const plugins = [pythonRuntime(), nodeRuntime()];
    const serving = (id: string) => plugins.filter((p) => runtimeMatches(p, id)).map((p) => p.name);
    expect(serving('python3.9')).toEqual(['python']);
    expect(serving('python3.11')).toEqual(['python']);
    expect(serving('nodejs18.x')).toEqual(['node']);
    expect(serving('nodejs20.x')).toEqual(['node']);
    expect(serving('ruby')).toEqual([]);
  });

  it('has the documented defaults', () => {
    const rt = nodeRuntime();
    expect(rt.name).toBe('node');
    expect(rt.extensions).toEqual(['.js', '.mjs', '.cjs']);
    expect(rt.defaultHandler).toBe('main.handler');
    expect(rt.image).toBe('nanogrid/node:18');
    expect(rt.protocol).toBe('envelope');
    expect(rt.entry({ runtime: 'nodejs20.x', handler: 'main.handler', entryFile: 'main.js' })).toEqual([
      'node',
      NODE_BOOTSTRAP_FILE,
    ]);
  });

  it('takes an image, a node binary and runtime ids', () => {
    const rt = nodeRuntime({ image: 'my/node:22', node: '/opt/node/bin/node', runtimes: ['js'] });
    expect(rt.image).toBe('my/node:22');
    expect(rt.entry({ runtime: 'js', handler: 'main.handler', entryFile: 'main.js' })[0]).toBe('/opt/node/bin/node');
    expect(runtimeMatches(rt, 'js')).toBe(true);
    expect(runtimeMatches(rt, 'nodejs20.x')).toBe(false);
  });

  it('ships the bootstrap file, with the same result marker as core', () => {
    const source = nodeRuntime().bootstrap[NODE_BOOTSTRAP_FILE];
    expect(source).toBe(readFileSync(new URL('../bootstrap/bootstrap.mjs', import.meta.url), 'utf8'));
    expect(RESULT_MARKER).toBe('\u001eNANOGRID_RESULT ');
    expect(source).toContain("const RESULT_MARKER = '\\u001eNANOGRID_RESULT ';");
  });
});

import { readFileSync } from 'node:fs';
import { RESULT_MARKER, runtimeMatches } from '@nanogrid/core';
import { describe, expect, it } from 'vitest';
import { PYTHON_BOOTSTRAP_FILE, pythonRuntime } from '../src/index.js';

describe('pythonRuntime', () => {
  it.each(['python', 'python3', 'python3.9', 'python3.11', 'python3.12'])('serves runtime id %s', (id) => {
    expect(runtimeMatches(pythonRuntime(), id)).toBe(true);
  });

  it.each(['ruby', 'python2.7', 'python3.', 'python3.11x', 'nodejs18.x', 'Python3.9'])('does not serve %s', (id) => {
    expect(runtimeMatches(pythonRuntime(), id)).toBe(false);
  });

  it('has the documented defaults', () => {
    const rt = pythonRuntime();
    expect(rt.name).toBe('python');
    expect(rt.extensions).toEqual(['.py']);
    expect(rt.defaultHandler).toBe('main.handler');
    expect(rt.image).toBe('nanogrid/python:3');
    expect(rt.protocol).toBe('envelope');
    expect(rt.entry({ runtime: 'python3.11', handler: 'main.handler', entryFile: 'main.py' })).toEqual([
      'python3',
      '-u',
      PYTHON_BOOTSTRAP_FILE,
    ]);
  });

  it('takes an image, an interpreter and runtime ids', () => {
    const rt = pythonRuntime({ image: 'my/python:fat', python: 'python3.12', runtimes: ['py'] });
    expect(rt.image).toBe('my/python:fat');
    expect(rt.entry({ runtime: 'py', handler: 'main.handler', entryFile: 'main.py' })[0]).toBe('python3.12');
    expect(runtimeMatches(rt, 'py')).toBe(true);
    expect(runtimeMatches(rt, 'python3.11')).toBe(false);
    expect(pythonRuntime({ name: 'python-fat' }).name).toBe('python-fat');
  });

  it('ships the bootstrap file, with the same result marker as core', () => {
    const source = pythonRuntime().bootstrap[PYTHON_BOOTSTRAP_FILE];
    expect(source).toBe(readFileSync(new URL('../bootstrap/bootstrap.py', import.meta.url), 'utf8'));
    expect(RESULT_MARKER).toBe('\u001eNANOGRID_RESULT ');
    expect(source).toContain('RESULT_MARKER = "\\x1eNANOGRID_RESULT "');
  });
});

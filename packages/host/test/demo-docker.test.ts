import { dockerTestEnv } from '@nanogrid/sandbox-docker/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runDemo } from '../src/demo.js';

const env = await dockerTestEnv(['nanogrid/python:3', 'nanogrid/python-fat:3', 'nanogrid/node:18']);

describe.skipIf(!env.ready)('nanogrid demo --sandbox docker', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('runs the original demos in Docker, the summarizer (stub AI) and the image processor included', {
    timeout: 120_000,
  }, async () => {
    let printed = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed += String(chunk);
      return true;
    });
    const code = await runDemo(['--sandbox', 'docker']);
    vi.restoreAllMocks();
    expect(printed).toContain('(sandbox: docker)');
    const line = (title: string) => printed.split('\n').find((l) => l.startsWith(title)) ?? `no line for ${title}`;
    expect(line('summarizer (private AI)')).toMatch(/completed .*"summary":"Summary: NanoGrid runs functions/);
    expect(line('image processor (Pillow)')).toMatch(/completed .*\[\+1 output file\(s\), downloaded\]/);
    expect(line('hello (original, unchanged)')).toContain('{"message":"Hello, NanoGrid!"}');
    expect(printed).toMatch(/all \d+ examples behaved as expected/);
    expect(code).toBe(0);
  });
});

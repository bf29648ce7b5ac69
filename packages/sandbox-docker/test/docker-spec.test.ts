import { describe, expect, it } from 'vitest';
import type { SandboxRunSpec } from '@nanogrid/core';
import { containerAiEndpoint, planNetwork } from '../src/docker-network.js';
import { dockerMessage } from '../src/docker-client.js';
import { containerSpec } from '../src/docker-spec.js';

/** Pure parts of the Docker sandbox: no engine needed. */
const spec: SandboxRunSpec = {
  image: 'nanogrid/python:3',
  command: ['python3', 'main.py'],
  codeDir: '/unused',
  outputDir: '/unused',
  env: { FOO: 'bar', HOME: '/root', OUTPUT_DIR: '/x' },
  timeoutMs: 1000,
  memoryMb: 128,
  network: 'none',
  labels: { job: 'j1', nanogrid: 'spoofed' },
};
const limits = {
  runId: 'abc',
  network: { networkMode: 'none', extraHosts: [], env: {} },
  cpus: 0.5,
  pidsLimit: 128,
  diskMb: 64,
  user: '65534:65534',
  labels: { 'nanogrid.run': 'abc' },
};

describe('containerSpec', () => {
  const c = containerSpec(spec, limits);

  it('applies every hardening setting', () => {
    expect(c.HostConfig).toMatchObject({
      Memory: 128 * 1024 * 1024,
      MemorySwap: 128 * 1024 * 1024,
      NanoCpus: 500_000_000,
      PidsLimit: 128,
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      NetworkMode: 'none',
      LogConfig: { Type: 'none', Config: {} },
    });
    // No scratch mount: /tmp is a tmpfs of the quota, /output a volume.
    expect(c.HostConfig?.Tmpfs?.['/tmp']).toContain('size=64m');
    expect(c.Volumes).toEqual({ '/code': {}, '/output': {} });
    expect(c.User).toBe('65534:65534');
    expect(c.WorkingDir).toBe('/code');
    expect(c.NetworkDisabled).toBe(true);
  });

  it('with a scratch mount, /tmp and /output are its bind mounts and nothing else is writable', () => {
    const binds = ['/s/tmp:/tmp:rw', '/s/output:/output:rw'];
    const s = containerSpec(spec, { ...limits, scratchBinds: binds });
    expect(s.HostConfig?.Binds).toEqual(binds);
    expect(s.HostConfig?.Tmpfs).toBeUndefined();
    expect(s.Volumes).toEqual({ '/code': {} });
    expect(s.HostConfig?.ReadonlyRootfs).toBe(true);
  });

  it('keeps the contract variables over the function env', () => {
    expect(c.Env).toEqual(expect.arrayContaining(['FOO=bar', 'HOME=/tmp', 'OUTPUT_DIR=/output', 'TMPDIR=/tmp']));
    expect(c.Env).not.toContain('HOME=/root');
  });

  it('labels the container as NanoGrid-owned whatever the caller passes', () => {
    expect(c.Labels).toMatchObject({ job: 'j1', nanogrid: '1', 'nanogrid.run': 'abc' });
  });

  it('opens stdin only when there is stdin', () => {
    expect(c.OpenStdin).toBe(false);
    expect(containerSpec({ ...spec, stdin: '{}' }, limits)).toMatchObject({ OpenStdin: true, StdinOnce: true });
  });
});

describe('network policies', () => {
  it('maps a loopback AI endpoint to the Docker host', () => {
    expect(containerAiEndpoint('http://127.0.0.1:11434')).toBe('http://host.docker.internal:11434');
    expect(containerAiEndpoint('http://localhost:11434/api/')).toBe('http://host.docker.internal:11434/api/');
    expect(containerAiEndpoint('http://ollama.lan:11434')).toBe('http://ollama.lan:11434');
    expect(containerAiEndpoint('not a url')).toBe('not a url');
  });

  it('plans none, internet and ai', async () => {
    let created = 0;
    const ensure = async () => {
      created++;
    };
    expect(await planNetwork('none', {}, 'nanogrid-ai', ensure)).toMatchObject({ networkMode: 'none', extraHosts: [] });
    expect((await planNetwork('internet', {}, 'nanogrid-ai', ensure)).networkMode).toBe('bridge');
    expect(created).toBe(0);
    const ai = await planNetwork('ai', { AI_ENDPOINT: 'http://localhost:8080' }, 'nanogrid-ai', ensure);
    expect(ai).toEqual({
      networkMode: 'nanogrid-ai',
      extraHosts: ['host.docker.internal:host-gateway'],
      env: { AI_ENDPOINT: 'http://host.docker.internal:8080' },
    });
    expect(created).toBe(1);
  });
});

describe('dockerMessage', () => {
  it('keeps the worker run directories out of messages clients read', () => {
    const err = Object.assign(new Error('x'), {
      json: {
        message:
          'invalid mount config: bind source path does not exist: /tmp/nanogrid-scratch-0/nanogrid-scratch-12-abcd/tmp and /var/tmp/nanogrid-warm-12-Xy/in',
      },
    });
    expect(dockerMessage(err)).toBe(
      'invalid mount config: bind source path does not exist: <run dir>/tmp and <run dir>/in',
    );
    expect(dockerMessage(new Error('plain'))).toBe('plain');
  });
});

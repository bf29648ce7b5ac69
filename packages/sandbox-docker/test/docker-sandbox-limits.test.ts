import { stat } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxRunResult } from '@nanogrid/core';
import { openDocker } from '../src/docker-client.js';
import { dockerSandbox } from '../src/docker-sandbox.js';
import { caseDirs, containersLabelled, dockerTestEnv } from './helpers/docker-env.js';

const env = await dockerTestEnv();

/** Hostile functions: each hits a limit, and the sandbox takes the next run as if nothing happened. */
describe.skipIf(!env.ready)('dockerSandbox: limits and hardening', () => {
  const sandbox = dockerSandbox();
  let dirs: Awaited<ReturnType<typeof caseDirs>>;
  const py = (code: string, extra = {}) => dirs.spec({ 'main.py': code }, ['python3', 'main.py'], extra);
  const json = (res: SandboxRunResult) => JSON.parse(res.stdout) as Record<string, unknown>;

  /** The sandbox still runs a plain function correctly. */
  async function expectHealthy(): Promise<void> {
    const res = await sandbox.run(await py('print("still fine")'));
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toBe('still fine\n');
  }

  beforeAll(async () => {
    dirs = await caseDirs('ng-docker-limits');
  });
  afterAll(async () => {
    await sandbox.close();
    await dirs?.cleanup();
  });

  it('kills a function at its timeout and removes the container', async () => {
    const label = `timeout-${Date.now()}`;
    const started = Date.now();
    const res = await sandbox.run(
      await py('import time\nprint("started", flush=True)\ntime.sleep(60)', {
        timeoutMs: 1500,
        labels: { 'nanogrid.test': label },
      }),
    );
    expect(res.timedOut).toBe(true);
    expect(res.oomKilled).toBe(false);
    expect(res.exitCode).toBeNull();
    expect(res.signal).toBe('SIGKILL');
    expect(res.stdout).toBe('started\n');
    expect(res.durationMs).toBeGreaterThanOrEqual(1500);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await containersLabelled('nanogrid.test', label)).toEqual([]);
    await expectHealthy();
  });

  it('reports an OOM kill with the peak memory near the limit', async () => {
    const code = 'chunks = []\nwhile True:\n    chunks.append(b"x" * (1 << 20))\n';
    const res = await sandbox.run(await py(code, { memoryMb: 64 }));
    expect(res.oomKilled).toBe(true);
    expect(res.timedOut).toBe(false);
    expect(res.exitCode).toBeNull();
    expect(res.peakMemoryBytes).toBeGreaterThan(48 * 1024 * 1024);
    // The kernel charges memory in per-CPU batches, so the high-water mark can pass the limit by a few pages.
    expect(res.peakMemoryBytes).toBeLessThanOrEqual(65 * 1024 * 1024);
    await expectHealthy();
  });

  it('stops a fork bomb at the pids limit', async () => {
    const code = [
      'import os, sys, time',
      'n = 0',
      'try:',
      '    while True:',
      '        if os.fork() == 0:',
      '            time.sleep(30)',
      '            os._exit(0)',
      '        n += 1',
      'except OSError as e:',
      '    print(n, e.errno)',
    ].join('\n');
    const limited = dockerSandbox({ pidsLimit: 32 });
    const res = await limited.run(await py(code, { timeoutMs: 15_000 }));
    expect(res.timedOut).toBe(false);
    const [forks, errno] = res.stdout.trim().split(' ').map(Number);
    expect(forks).toBeLessThan(32);
    expect(errno).toBe(11); // EAGAIN
    await expectHealthy();
  });

  it('survives a shell fork bomb that runs until its timeout', async () => {
    const spec = await dirs.spec({}, ['sh', '-c', 'bomb() { bomb | bomb & }; bomb; sleep 30'], { timeoutMs: 3000 });
    const res = await sandbox.run(spec);
    expect(res.timedOut).toBe(true);
    await expectHealthy();
  });

  /** Fills `path:MiB` files one after the other, 1 MiB at a time; prints where ENOSPC stopped it. */
  const FILL = [
    'import json, sys',
    'written = {}',
    'try:',
    '    for arg in sys.argv[1:]:',
    '        path, mib = arg.split(":")',
    '        written[path] = 0',
    '        with open(path, "wb") as f:',
    '            while written[path] < (int(mib) << 20):',
    '                f.write(b"x" * (1 << 20))',
    '                f.flush()',
    '                written[path] += 1 << 20',
    'except OSError as e:',
    '    print(json.dumps({"errno": e.errno, "written": written}))',
    'else:',
    '    print(json.dumps({"errno": 0, "written": written}))',
  ].join('\n');
  const fill = async (diskMb: number, ...paths: string[]) => {
    const spec = await dirs.spec({ 'fill.py': FILL }, ['python3', 'fill.py', ...paths], { diskMb, memoryMb: 256 });
    const res = await sandbox.run(spec);
    expect(res.exitCode).toBe(0);
    return { ...(json(res) as { errno: number; written: Record<string, number> }), outputDir: spec.outputDir };
  };
  const MiB = 1024 * 1024;

  it('caps /tmp at the disk quota: filling it fails with ENOSPC inside the function only', async () => {
    const out = await fill(24, '/tmp/fill:40');
    expect(out.errno).toBe(28); // ENOSPC
    expect(out.written['/tmp/fill']).toBeGreaterThanOrEqual(16 * MiB);
    expect(out.written['/tmp/fill']).toBeLessThanOrEqual(24 * MiB);
    await expectHealthy();
  });

  it('caps /tmp and /output together (one quota), and what fits in /output is still collected', async () => {
    const out = await fill(24, '/output/b:12', '/tmp/a:40');
    expect(out.errno).toBe(28);
    expect(out.written['/output/b']).toBe(12 * MiB);
    // /tmp got only what /output left of the quota.
    expect(out.written['/tmp/a']).toBeLessThanOrEqual(12 * MiB);
    expect(out.written['/tmp/a']).toBeGreaterThanOrEqual(4 * MiB);
    expect((await stat(join(out.outputDir, 'b'))).size).toBe(12 * MiB);
    await expectHealthy();
  });

  it('copies out what a run leaves in /output within the quota', async () => {
    const code = 'open("/output/kept.txt", "w").write("x" * 1000)';
    const spec = await py(code, { diskMb: 8 });
    const res = await sandbox.run(spec);
    expect(res.exitCode).toBe(0);
    expect((await stat(join(spec.outputDir, 'kept.txt'))).size).toBe(1000);
  });

  const WRITES_PY = [
    'import json, os',
    'def attempt(path):',
    '    try:',
    '        open(path, "w").write("x")',
    '        return 0',
    '    except OSError as e:',
    '        return e.errno',
    'print(json.dumps({p: attempt(p) for p in ["/etc/evil", "/evil", "/usr/bin/evil", "/code/evil", "/code/main.py", "/output/ok", "/tmp/ok"]}))',
  ].join('\n');

  it('has a read-only root filesystem and read-only code: only /output and /tmp take writes', async () => {
    const res = await sandbox.run(await py(WRITES_PY));
    expect(json(res)).toEqual({
      '/etc/evil': 30, // EROFS
      '/evil': 30,
      '/usr/bin/evil': 30,
      '/code/evil': 30, // EROFS: a local engine binds the code read-only (the archive path: EACCES, root owns it)
      '/code/main.py': 30,
      '/output/ok': 0,
      '/tmp/ok': 0,
    });
  });

  it('without code binds (as with a remote engine) the code goes in through the archive API, owned by root', async () => {
    const archived = dockerSandbox({ codeDirs: false });
    try {
      const res = await archived.run(await py(WRITES_PY));
      expect(json(res)).toMatchObject({ '/code/evil': 13, '/code/main.py': 13, '/evil': 30, '/tmp/ok': 0 }); // EACCES
    } finally {
      await archived.close();
    }
  });

  it('runs without capabilities or a way to gain privileges', async () => {
    const code =
      'import json\nstatus = dict(l.split(":\\t") for l in open("/proc/self/status").read().splitlines() if ":\\t" in l)\nprint(json.dumps({k: status[k].strip() for k in ["CapEff", "CapBnd", "NoNewPrivs", "Uid"]}))';
    const res = await sandbox.run(await py(code));
    expect(json(res)).toMatchObject({ CapEff: '0000000000000000', CapBnd: '0000000000000000', NoNewPrivs: '1' });
    expect(String(json(res).Uid).split(/\s+/)[0]).toBe('65534');
  });

  describe('network', () => {
    let server: Server;
    let target: { host: string; port: number };

    beforeAll(async () => {
      // A listener on the Docker bridge's gateway: an address on this machine that a networked container can reach.
      const docker = await openDocker();
      const bridge = await docker.getNetwork('bridge').inspect();
      const gateway = (bridge.IPAM?.Config?.[0] as { Gateway?: string } | undefined)?.Gateway ?? '172.17.0.1';
      server = createServer((sock) => sock.end('hello from the host\n'));
      await new Promise<void>((resolve) => server.listen(0, gateway, resolve));
      target = { host: gateway, port: (server.address() as AddressInfo).port };
    });
    afterAll(async () => {
      await new Promise((resolve) => server?.close(resolve));
    });

    const connect = () =>
      [
        'import json, os, socket',
        `host, port = ${JSON.stringify(target.host)}, ${target.port}`,
        'try:',
        '    s = socket.create_connection((host, port), timeout=3)',
        '    result = s.recv(100).decode()',
        'except OSError as e:',
        '    result = "error %s" % e.errno',
        'print(json.dumps({"ifaces": sorted(os.listdir("/sys/class/net")), "result": result}))',
      ].join('\n');

    it('has only loopback under policy none: a connection fails', async () => {
      const res = await sandbox.run(await py(connect(), { network: 'none' }));
      expect(json(res).ifaces).toEqual(['lo']);
      expect(json(res).result).toBe('error 101'); // ENETUNREACH
    });

    it('reaches the network under policy internet (the same connection works)', async () => {
      const res = await sandbox.run(await py(connect(), { network: 'internet' }));
      expect(json(res).result).toBe('hello from the host\n');
    });

    it('reaches the Docker host under policy ai, on the internal network', async () => {
      const label = `ai-${Date.now()}`;
      const res = await sandbox.run(await py(connect(), { network: 'ai', labels: { 'nanogrid.test': label } }));
      expect(json(res).result).toBe('hello from the host\n');
      const docker = await openDocker();
      const net = await docker.getNetwork('nanogrid-ai').inspect();
      expect(net.Internal).toBe(true);
    });
  });
});

import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type JobRecord, type NanoGrid, createZip, silentLogger } from '@nanogrid/core';
import { nodeRuntime } from '@nanogrid/runtime-node';
import { pythonRuntime } from '@nanogrid/runtime-python';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dockerSandbox } from '../src/docker-sandbox.js';
import { openDocker } from '../src/docker-client.js';
import { containersLabelled, dockerTestEnv, PYTHON_IMAGE } from './helpers/docker-env.js';
import { pythonSparesReady } from './helpers/python-spares.js';
import { composeInDir } from './helpers/compose-in-dir.js';

const NODE_IMAGE = 'nanogrid/node:18';
const env = await dockerTestEnv([PYTHON_IMAGE, NODE_IMAGE]);

/** Leaves every kind of state a later function could see if it landed in the same process or directory. */
const LEAVER_PY = `import json, os, sys, types
SECRET = "alpha-secret-7f3a"
KEPT = []

def handler(event, context):
    os.environ["LEAKED_ENV"] = SECRET
    json.LEAKED_ATTR = SECRET
    sys.modules["leaked_module"] = types.ModuleType("leaked_module")
    KEPT.append(open("/proc/self/status"))  # an fd left open
    open(os.path.join(os.environ["TMPDIR"], "leaked.txt"), "w").write(SECRET)
    return {"uid": os.getuid(), "fds": len(os.listdir("/proc/self/fd"))}
`;

/** Looks for what another function (or the spare's starter) could have left, and for other code directories. */
const PROBE_PY = `import errno, json, os, re, sys

def fd_kinds():
    kinds = []
    for fd in sorted(os.listdir("/proc/self/fd"), key=int):
        try:
            target = os.readlink("/proc/self/fd/" + fd)
        except OSError:
            continue  # the listing's own descriptor
        kinds.append(re.sub(r"[0-9]+", "N", target))
    return sorted(kinds)

def handler(event, context):
    secret = "alpha-" + "secret-7f3a"  # never written whole here: this file must not match itself
    found = []
    for root, _dirs, files in os.walk("/code"):
        for name in files:
            try:
                if secret in open(os.path.join(root, name), errors="replace").read():
                    found.append(os.path.join(root, name))
            except OSError:
                pass
    # The host path of this instance's code directory, as the mount table names it, and its neighbours.
    mount = [l.split() for l in open("/proc/self/mountinfo") if l.split()[4] == "/code"][0]
    host_dir = mount[3]
    try:
        open("/code/planted.py", "w").write("x")
        write_errno = 0
    except OSError as e:
        write_errno = e.errno
    return {
        "uid": os.getuid(),
        "code": sorted(os.listdir("/code")),
        "found": found,
        "mount_options": mount[5],
        "host_dir_visible": os.path.exists(host_dir) or os.path.exists(os.path.dirname(host_dir)),
        "write_errno": write_errno,
        "env": "LEAKED_ENV" in os.environ or any("alpha" in v for v in os.environ.values()),
        "json_attr": hasattr(json, "LEAKED_ATTR"),
        "module": "leaked_module" in sys.modules,
        "tmp": os.listdir(os.environ["TMPDIR"]),
        "fds": fd_kinds(),
    }
`;

/** Allocates past its memory limit; reports the limits of its own cgroup as it loaded (v1 or v2). */
const GREEDY_PY = `import os

def read(*names):
    for name in names:
        try:
            return open("/sys/fs/cgroup/" + name).read().split()
        except OSError:
            pass
    return None

memory = read("memory/memory.limit_in_bytes", "memory.max")
quota = read("cpu/cpu.cfs_quota_us", "cpu.max")
period = read("cpu/cpu.cfs_period_us") or quota[1:]
LIMITS = {"memory": int(memory[0]), "cpu": int(quota[0]) / int(period[0])}

def handler(event, context):
    chunks = [bytearray(1 << 20) for _ in range(event["mb"])]
    return {"held": len(chunks), "limits": LIMITS}
`;

/**
 * Prewarmed spares: generic containers that loaded the runtime before any
 * function was known, each taken by exactly one function. What one function
 * leaves must never reach another, and a spare is as isolated as a cold instance.
 */
describe.skipIf(!env.ready)('prewarmed spares against hostile functions (Docker)', () => {
  let ng: NanoGrid;
  let dir: string;
  let codeDirs: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-prewarm-hostile-'));
    codeDirs = join(dir, 'code-dirs');
    await mkdir(codeDirs, { mode: 0o700 });
    ng = await composeInDir(dir, {
      sandbox: dockerSandbox({ logger: silentLogger, workerId: `prewarm-${process.pid}`, codeDirs }),
      worker: { concurrency: 2, pollWaitMs: 500 },
      // Functions get 1 CPU, spares start with the sandbox's 0.5: a spare taken changes its quota.
      limits: { cpus: 1 },
      warm: { enabled: true, prewarm: { python: 2, node: 1 } },
      runtimes: [pythonRuntime(), nodeRuntime()],
    });
    ng.worker?.start();
  }, 60_000);
  afterAll(async () => {
    await ng?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const sparesReady = () => pythonSparesReady(ng.sandbox, 2);
  const deploy = async (
    name: string,
    fileName: string,
    code: string,
    extra: { memoryMb?: number; network?: 'none' | 'internet'; env?: Record<string, string> } = {},
  ) =>
    (
      await ng.registry.deploy({
        functionName: `${name}-${Date.now()}`,
        runtime: 'python3',
        fileName,
        handler: `${fileName.replace(/\.py$/, '')}.handler`,
        data: Buffer.from(code),
        ...extra,
      })
    ).function_id;
  const call = async (fid: string, payload: unknown = {}): Promise<JobRecord> => {
    const { record } = await ng.jobs.submit(fid, payload);
    return ng.jobs.wait(record.job_id, { timeoutMs: 60_000 });
  };

  it("a function on a spare sees only its own code, read-only, and nothing another function's spare left", async () => {
    await sparesReady();
    const alpha = await deploy('alpha', 'alpha.py', LEAVER_PY, { env: { ALPHA_TOKEN: 'alpha-token' } });
    const beta = await deploy('beta', 'beta.py', PROBE_PY);
    const a = await call(alpha);
    expect(a).toMatchObject({ status: 'completed', start: 'prewarmed', result: { uid: 65534 } });
    const b = await call(beta);
    expect(b).toMatchObject({ status: 'completed', start: 'prewarmed' });
    const seen = b.result as Record<string, unknown>;
    expect(seen).toMatchObject({
      uid: 65534,
      found: [],
      host_dir_visible: false,
      env: false,
      json_attr: false,
      module: false,
      tmp: [],
    });
    expect(seen.code).toContain('beta.py');
    expect(seen.code).not.toContain('alpha.py');
    expect(String(seen.mount_options).split(',')).toContain('ro');
    expect([13, 30]).toContain(seen.write_errno); // EACCES or EROFS
    // The instance's directory exists on the host only while its container does.
    expect((await readdir(codeDirs)).length).toBeGreaterThan(0);
  }, 120_000);

  it('a process on a spare has the open files of a cold instance: the starter leaves none behind', async () => {
    await sparesReady();
    const warm = await call(await deploy('probe-spare', 'probe.py', PROBE_PY));
    // A network policy other than `none` never takes a spare: the same probe starts cold.
    const cold = await call(await deploy('probe-cold', 'probe.py', PROBE_PY, { network: 'internet' }));
    expect(warm.start).toBe('prewarmed');
    expect(cold.start).toBe('cold');
    expect((warm.result as { fds: string[] }).fds).toEqual((cold.result as { fds: string[] }).fds);
  }, 120_000);

  it('a script on a spare has the threads and open files of a cold one: the setup made for a handler is undone', async () => {
    await sparesReady();
    // No handler in the file: a script, whose fd 1 is its capture (the live-log pipe and thread a spare made are not).
    const script = `import json, os, re
fds = []
for fd in sorted(os.listdir("/proc/self/fd"), key=int):
    try:
        fds.append(re.sub(r"[0-9]+", "N", os.readlink("/proc/self/fd/" + fd)))
    except OSError:
        pass
print(json.dumps({"threads": len(os.listdir("/proc/self/task")), "fds": sorted(fds)}))
`;
    const warm = await call(await deploy('script-spare', 'probe.py', script));
    const cold = await call(await deploy('script-cold', 'probe.py', script, { network: 'internet' }));
    expect(warm).toMatchObject({ status: 'completed', start: 'prewarmed', result: { threads: 1 } });
    expect(cold.start).toBe('cold');
    expect(warm.result).toEqual(cold.result);
  }, 120_000);

  it("a spare taking a function gets that function's memory limit and CPU quota", async () => {
    await sparesReady();
    const fid = await deploy('greedy', 'greedy.py', GREEDY_PY, { memoryMb: 64 });
    // The module itself reads the limits it loads under: set before the function's env reaches the spare.
    expect(await call(fid, { mb: 1 })).toMatchObject({
      status: 'completed',
      start: 'prewarmed',
      result: { limits: { memory: 64 * 1024 * 1024, cpu: 1 } },
    });
    // The engine's record follows once the first call answered (the kernel's cgroup had them before).
    const docker = await openDocker();
    await vi.waitFor(
      async () => {
        // A spare carries no function label (it was made before any function): its limits tell which one it is.
        const limits = await Promise.all(
          (await containersLabelled('nanogrid.worker', `prewarm-${process.pid}`)).map(async (id) => {
            const { HostConfig } = await docker.getContainer(id).inspect();
            return { memory: HostConfig.Memory, cpus: HostConfig.NanoCpus };
          }),
        );
        expect(limits).toContainEqual({ memory: 64 * 1024 * 1024, cpus: 1e9 });
      },
      { timeout: 10_000, interval: 50 },
    );
    const over = await call(fid, { mb: 200 });
    expect(over).toMatchObject({ status: 'failed', error: { code: 'OUT_OF_MEMORY' } });
    expect(await call(fid, { mb: 8 })).toMatchObject({ status: 'completed', result: { held: 8 } });
    // Raised above the spare's 512 MiB (memory + swap first, or the kernel refuses the memory limit), and used.
    await sparesReady();
    const big = await deploy('roomy', 'greedy.py', GREEDY_PY, { memoryMb: 1024 });
    expect(await call(big, { mb: 600 })).toMatchObject({
      status: 'completed',
      start: 'prewarmed',
      result: { held: 600, limits: { memory: 1024 * 1024 * 1024, cpu: 1 } },
    });
  }, 120_000);

  it('a Node spare that loaded the runtime serves a package of ES modules (package.json type: module)', async () => {
    const node = nodeRuntime();
    await ng.sandbox.prewarm?.({
      image: node.image,
      command: node.serve!.prewarm!,
      count: 1,
      memoryMb: 512,
      files: node.bootstrap,
    });
    const zip = await createZip([
      { path: 'package.json', data: '{"type":"module"}' },
      {
        path: 'index.js',
        data: 'import { id } from "./lib.js";\nexport const handler = async (e) => ({ id: id(e.n), uid: process.getuid() });\n',
      },
      { path: 'lib.js', data: 'export const id = (n) => n * 2;\n' },
    ]);
    const fid = (
      await ng.registry.deploy({
        functionName: `esm-${Date.now()}`,
        runtime: 'nodejs18.x',
        fileName: 'code.zip',
        handler: 'index.handler',
        data: zip,
      })
    ).function_id;
    expect(await call(fid, { n: 21 })).toMatchObject({
      status: 'completed',
      start: 'prewarmed',
      result: { id: 42, uid: 65534 },
    });
  }, 120_000);

  it("a Node spare's warm-up leaves nothing a function sees: empty /tmp and /output, its own first call and modules", async () => {
    const node = nodeRuntime();
    const nodeSpare = () =>
      ng.sandbox.prewarm?.({
        image: node.image,
        command: node.serve!.prewarm!,
        count: 1,
        memoryMb: 512,
        files: node.bootstrap,
      });
    const deployNode = async (name: string, path: string, data: string) =>
      (
        await ng.registry.deploy({
          functionName: `${name}-${Date.now()}`,
          runtime: 'nodejs18.x',
          fileName: 'code.zip',
          handler: `${path.replace(/\.[cm]?js$/, '')}.handler`,
          data: await createZip([{ path, data }]),
        })
      ).function_id;
    // The spare pushed a line of its own through its request reader and imported modules of its own from /tmp.
    const probe = await deployNode(
      'warm-probe',
      'probe.mjs',
      `import { readdirSync, writeFileSync } from 'node:fs';
let calls = 0;
export const handler = async (event) => {
  calls += 1;
  const tmp = readdirSync(process.env.TMPDIR);
  const out = readdirSync(process.env.OUTPUT_DIR);
  const file = process.env.TMPDIR + '/__nanogrid_warm_' + event.name + '.mjs';
  writeFileSync(file, 'export const handler = 42;');
  const { handler: mine } = await import(file);
  return { calls, event, tmp, out, mine };
};
`,
    );
    await nodeSpare();
    expect(await call(probe, { name: 'x', n: 1 })).toMatchObject({
      status: 'completed',
      start: 'prewarmed',
      result: { calls: 1, event: { name: 'x', n: 1 }, tmp: [], out: [], mine: 42 },
    });
    // A Lambda-style CommonJS index.js on a spare whose warm-up imported a CommonJS file of its own.
    const cjs = await deployNode('warm-cjs', 'index.js', 'exports.handler = async (e) => ({ twice: e.n * 2 });\n');
    await nodeSpare();
    expect(await call(cjs, { n: 21 })).toMatchObject({
      status: 'completed',
      start: 'prewarmed',
      result: { twice: 42 },
    });
  }, 120_000);

  it('the code directories of instances are removed with them', async () => {
    await ng.close();
    expect(await readdir(codeDirs)).toEqual([]);
  }, 60_000);
});

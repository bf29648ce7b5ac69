import { randomUUID } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { isNanoGridError } from '../errors.js';
import { MAX_OUTPUT_FILES } from '../plugins/sandbox.js';
import type { HostileCaseId } from './hostile-cases.js';
import { listTree, processesWith, pythonSpec, resultOf, warmCall, warmSpec } from './sandbox-fixtures.js';
import type { HostileContext } from './sandbox-suite.js';

/** A host file only the host can read: a sandbox that hands it out has been fooled. */
async function hostSecret(root: string): Promise<{ file: string; dir: string; text: string }> {
  const dir = join(root, `secret-${randomUUID().slice(0, 8)}`);
  await mkdir(join(dir, 'sub'), { recursive: true });
  const text = `HOST-SECRET-${randomUUID()}`;
  await writeFile(join(dir, 'secret.txt'), text);
  await writeFile(join(dir, 'sub', 'g.txt'), text);
  return { file: join(dir, 'secret.txt'), dir: join(dir, 'sub'), text };
}

/** No copied output holds the secret, and nothing but regular files and folders was copied. */
async function expectNoLeak(outputDir: string, secret: string): Promise<number> {
  const { files, odd } = await listTree(outputDir);
  expect(odd).toEqual([]);
  for (const [path, body] of files) expect(body.toString(), path).not.toContain(secret);
  return files.size;
}

/** Python that swaps `f.txt` for a link to `secret` and `sub/` for a link to `secretDir`, for `seconds`, in a thread or a process. */
function swapper(secret: string, secretDir: string, seconds: number): string {
  return `
import os, time
def swap(out, alive=lambda: True):
    f, d = os.path.join(out, "f.txt"), os.path.join(out, "sub")
    end = time.time() + ${seconds}
    while time.time() < end and alive():
        try:
            os.symlink(${JSON.stringify(secret)}, f + ".l"); os.rename(f + ".l", f)
            os.rename(d, d + ".real"); os.symlink(${JSON.stringify(secretDir)}, d)
            time.sleep(0)
            os.unlink(d); os.rename(d + ".real", d)
            open(f + ".t", "w").write("legit"); os.rename(f + ".t", f)
        except OSError:
            pass
def prepare(out):
    os.makedirs(os.path.join(out, "sub"), exist_ok=True)
    open(os.path.join(out, "f.txt"), "w").write("legit")
    open(os.path.join(out, "sub", "g.txt"), "w").write("legit")
`;
}

const capabilities = `
import json, os
st = dict(l.split(":\\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\\t" in l)
print(json.dumps({"capEff": st["CapEff"].strip(), "capPrm": st["CapPrm"].strip(), "noNewPrivs": st.get("NoNewPrivs", "?").strip(), "uid": os.getuid(), "gid": os.getgid(), "euid": os.geteuid()}))
`;

const remount = `
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
code = os.getcwd()
res = {}
def attempt(tag):
    for p in (code, "/usr"):
        res[tag + " remount " + p] = libc.mount(None, p.encode(), None, 32 | 4096, None) == 0
        try:
            open(os.path.join(p, "ng-hostile-write"), "w").write("x"); res[tag + " write " + p] = True
        except OSError:
            res[tag + " write " + p] = False
attempt("direct")
if libc.unshare(0x10000000 | 0x20000) == 0:
    attempt("nested-userns")
print(json.dumps(res))
`;

/** One test per hostile case (the cases are described in hostile-cases.ts). */
export const HOSTILE_TESTS: Record<HostileCaseId, (ctx: HostileContext) => Promise<void>> = {
  async 'launcher-env'({ sandbox, scratch }) {
    const probe = join(scratch.root, `ld-probe-${randomUUID().slice(0, 8)}`);
    await mkdir(probe);
    const mark = `seen-${randomUUID()}`;
    const env = {
      LD_DEBUG: 'files',
      LD_DEBUG_OUTPUT: join(probe, 'ld'),
      LD_PRELOAD: join(probe, 'evil.so'),
      NG_MARK: mark,
    };
    const run = await sandbox.run(
      await pythonSpec(scratch, 'import os; print("mark=" + os.environ.get("NG_MARK", ""))', { env }),
    );
    expect(run.stdout).toContain(`mark=${mark}`); // the function still gets its variables
    expect(await readdir(probe)).toEqual([]); // no process on the host side loaded the linker with them
  },

  async capabilities({ sandbox, scratch }) {
    const run = await sandbox.run(await pythonSpec(scratch, capabilities));
    const seen = resultOf(run.stdout) as Record<string, string | number>;
    expect(seen).toMatchObject({ capEff: '0000000000000000', capPrm: '0000000000000000', noNewPrivs: '1' });
    for (const id of ['uid', 'gid', 'euid'] as const) expect(seen[id]).not.toBe(0);
  },

  async remount({ sandbox, scratch }) {
    const spec = await pythonSpec(scratch, remount);
    const run = await sandbox.run(spec);
    const res = resultOf(run.stdout) as Record<string, boolean>;
    expect(Object.keys(res).length).toBeGreaterThanOrEqual(4);
    expect(Object.entries(res).filter(([, ok]) => ok)).toEqual([]);
    expect(await readdir(spec.codeDir)).not.toContain('ng-hostile-write');
  },

  async 'output-links-cold'({ sandbox, scratch }) {
    const s = await hostSecret(scratch.root);
    const code = `${swapper(s.file, s.dir, 3)}
out = os.environ["OUTPUT_DIR"]
prepare(out)
os.symlink(${JSON.stringify(s.file)}, os.path.join(out, "link.txt"))
os.symlink(${JSON.stringify(s.dir)}, os.path.join(out, "linkdir"))
os.mkfifo(os.path.join(out, "fifo.txt"))
if os.fork() == 0:
    swap(out); os._exit(0)
time.sleep(0.05)
`;
    for (let i = 0; i < 5; i++) {
      const spec = await pythonSpec(scratch, code);
      const run = await sandbox.run(spec);
      expect(run.exitCode).toBe(0);
      await expectNoLeak(spec.outputDir, s.text);
    }
  },

  async 'output-race-warm'({ sandbox, scratch }) {
    const s = await hostSecret(scratch.root);
    const spec = await warmSpec(scratch);
    const code = `${swapper(s.file, s.dir, 1.5)}
import shutil, threading
gen = STATE["gen"] = STATE.get("gen", 0) + 1
time.sleep(0.02) # the previous call's thread sees it is stale and stops
out = os.environ["OUTPUT_DIR"]
for name in os.listdir(out):
    p = os.path.join(out, name)
    shutil.rmtree(p, ignore_errors=True) if os.path.isdir(p) and not os.path.islink(p) else os.unlink(p)
prepare(out)
threading.Thread(target=swap, args=(out, lambda: STATE["gen"] == gen), daemon=True).start()
result = "ok"
`;
    let copied = 0;
    for (let i = 0; i < 25; i++) {
      const call = await warmCall(sandbox, spec, code);
      expect(call.value, JSON.stringify({ ...call, stdout: call.stdout.slice(-300) })).toBe('ok');
      copied += await expectNoLeak(call.outputDir, s.text);
    }
    expect(copied).toBeGreaterThan(0); // the legitimate files did come out
  },

  async 'warm-memory'({ sandbox, scratch }) {
    const spec = await warmSpec(scratch, { memoryMb: 64 });
    const start = `
import threading, time
def hog():
    STATE["hog"] = []
    for i in range(200):
        STATE["hog"].append(b"x" * (8 << 20)); time.sleep(0.01)
threading.Thread(target=hog, daemon=True).start()
result = "returned"
`;
    expect((await warmCall(sandbox, spec, start)).value).toBe('returned');
    await sleep(2500); // the hog thread would have reached 1.6 GB by now
    const after = await warmCall(sandbox, spec, 'result = len(STATE.get("hog", []))');
    expect(after).toMatchObject({ exitCode: 0, oomKilled: false }); // the next job is not blamed for the last one's thread
    expect(typeof after.value).toBe('number');
    if (after.start === 'warm') expect((after.value as number) * 8).toBeLessThanOrEqual(64);
    else expect(after.start).toBe('cold');
  },

  async 'warm-cpu'({ sandbox, scratch }) {
    const spec = await warmSpec(scratch);
    const start = `
import threading, time
def spin():
    end = time.time() + 6
    while time.time() < end: pass
threading.Thread(target=spin, daemon=True).start()
result = time.process_time()
`;
    const first = await warmCall(sandbox, spec, start);
    await sleep(3000);
    const after = await warmCall(sandbox, spec, 'import time; result = time.process_time()');
    if (after.start === 'warm')
      expect((after.value as number) - (first.value as number)).toBeLessThan(0.75); // a free spinner takes ~3 s
    else expect(after.start).toBe('cold');
  },

  async 'disk-quota'({ sandbox, scratch }) {
    const code = `
import errno, json, os
def fill(path, mb):
    n = 0
    try:
        with open(path, "wb") as f:
            for _ in range(mb):
                f.write(b"x" * (1 << 20)); f.flush(); os.fsync(f.fileno()); n += 1
        return [n, "ok"]
    except OSError as e:
        return [n, errno.errorcode.get(e.errno, str(e.errno))]
tmp = fill(os.path.join(os.environ["TMPDIR"], "big"), 64)
os.unlink(os.path.join(os.environ["TMPDIR"], "big"))
out = fill(os.path.join(os.environ["OUTPUT_DIR"], "big"), 64)
os.unlink(os.path.join(os.environ["OUTPUT_DIR"], "big"))
half = fill(os.path.join(os.environ["TMPDIR"], "half"), 10)
both = fill(os.path.join(os.environ["OUTPUT_DIR"], "half"), 10)
root = fill("/ng-root-write", 1) # anywhere else: the root is read-only
print(json.dumps({"tmp": tmp, "out": out, "half": half, "both": both, "root": root}))
`;
    const run = await sandbox.run(await pythonSpec(scratch, code, { diskMb: 16 }));
    const res = resultOf(run.stdout) as Record<string, [number, string]>;
    expect(res.tmp?.[1]).toBe('ENOSPC');
    expect(res.out?.[1]).toBe('ENOSPC');
    expect(res.tmp![0]).toBeLessThanOrEqual(16);
    expect(res.half).toEqual([10, 'ok']);
    expect(res.both?.[1]).toBe('ENOSPC'); // one quota for /tmp and /output together
    expect(['EROFS', 'EACCES']).toContain(res.root?.[1]);
  },

  async 'output-count'({ sandbox, scratch }) {
    const code = `import os\nd = os.environ["OUTPUT_DIR"]\nfor i in range(${MAX_OUTPUT_FILES + 1}): open(os.path.join(d, "f%d" % i), "w").close()`;
    const spec = await pythonSpec(scratch, code);
    const err = await sandbox.run(spec).then(
      (run) =>
        new Error(
          `the run was not refused: ${JSON.stringify({ exitCode: run.exitCode, stderr: run.stderr.slice(-500) })}`,
        ),
      (e: unknown) => e,
    );
    expect(isNanoGridError(err, 'OUTPUT_TOO_LARGE'), String(err)).toBe(true);
    expect((await listTree(spec.outputDir)).files.size).toBe(0);
  },

  async 'partial-outputs'({ sandbox, scratch }) {
    const code =
      'import os, time; open(os.path.join(os.environ["OUTPUT_DIR"], "half.txt"), "w").write("partial"); time.sleep(60)';
    const spec = await pythonSpec(scratch, code, { timeoutMs: 1500 });
    expect((await sandbox.run(spec)).timedOut).toBe(true);
    expect(await listTree(spec.outputDir)).toEqual({ files: new Map(), odd: [] });
    const warm = await warmSpec(scratch, { timeoutMs: 1500 });
    const call = await warmCall(sandbox, warm, code.replaceAll('; ', '\n'));
    expect(call.timedOut).toBe(true);
    expect((await listTree(call.outputDir)).files.size).toBe(0);
  },

  async 'host-paths'({ sandbox, scratch }) {
    const messages: string[] = [];
    const catchMessage = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => void messages.push(String((e as Error).message)),
      );
    await catchMessage(sandbox.run(await pythonSpec(scratch, '', { command: ['ng-no-such-command'] })));
    await catchMessage(
      sandbox.run({ ...(await pythonSpec(scratch, '')), codeDir: join(scratch.root, 'missing-code-dir') }),
    );
    await catchMessage(sandbox.run(await pythonSpec(scratch, '', { command: ['./missing-program'] })));
    const dead = await warmSpec(scratch, { serveCommand: ['python3', '-c', 'import sys; sys.exit(7)'] });
    await catchMessage(
      warmCall(sandbox, dead, 'result = 1').then((r) => void messages.push(r.stderr, r.protocolError ?? '')),
    );
    expect(messages.length).toBeGreaterThanOrEqual(3);
    for (const m of messages) expect(m).not.toContain(scratch.root);
  },

  async 'setsid-grandchild'({ sandbox, scratch }) {
    const marker = `${3000 + Math.floor(Math.random() * 1000)}.${process.pid}${Date.now() % 100_000}`;
    const code = `
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(0.4)
        os.execvp("sleep", ["sleep", ${JSON.stringify(marker)}])
    os._exit(0)
os.wait()
print("parent done")
`;
    const run = await sandbox.run(await pythonSpec(scratch, code));
    expect(run.stdout).toContain('parent done');
    await sleep(1500); // the grandchild execs sleep 0.4 s after its parent exited
    expect(await processesWith(`sleep ${marker}`)).toEqual([]);
  },
};

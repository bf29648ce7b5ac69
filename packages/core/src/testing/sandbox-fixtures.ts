import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { META_MARKER, RESULT_MARKER, STDERR_END } from '../plugins/runtime-plugin.js';
import type { Sandbox, SandboxRunSpec, WarmRunResult, WarmRunSpec } from '../plugins/sandbox.js';

/**
 * A minimal warm server speaking the warm protocol (see warm-channel.ts): for
 * each `{"env": {...}}` line it empties TMPDIR and OUTPUT_DIR, runs the Python
 * source in `NG_CODE` (which sets `result`) in a namespace kept across calls
 * (`STATE`), and answers META then RESULT: META says how much of its stderr pipe the host had not read yet
 * (`stderr`), or, when the request asks or the pipe cannot be asked, stderr ends with the end mark before the answer.
 * The suite's hostile code runs here.
 */
export const SUITE_WARM_SERVER = `
import fcntl, json, os, shutil, stat, sys, termios
META = ${JSON.stringify(META_MARKER)}
RESULT = ${JSON.stringify(RESULT_MARKER)}
END = ${JSON.stringify(STDERR_END)}
STATE = {}
def clear(path):
    if not path: return
    for name in os.listdir(path):
        p = os.path.join(path, name)
        try:
            if os.path.isdir(p) and not os.path.islink(p): shutil.rmtree(p, ignore_errors=True)
            else: os.unlink(p)
        except OSError:
            pass
mode = os.fstat(2).st_mode
PROBE = termios.FIONREAD if stat.S_ISFIFO(mode) else termios.TIOCOUTQ if stat.S_ISSOCK(mode) else None
out = sys.stdout
sys.stdout = sys.stderr
for line in sys.stdin:
    request = json.loads(line)
    env = request["env"]
    os.environ.update(env)
    clear(os.environ.get("TMPDIR")); clear(os.environ.get("OUTPUT_DIR"))
    scope = {"STATE": STATE, "result": None}
    try:
        exec(os.environ.get("NG_CODE", ""), scope)
        envelope = {"ok": True, "result": scope["result"]}
    except BaseException as exc:
        envelope = {"ok": False, "error": {"type": type(exc).__name__, "message": str(exc)}}
    count = sum(len(f) for _, _, f in os.walk(os.environ.get("OUTPUT_DIR") or "/nonexistent"))
    meta = {"outputs": count}
    sys.stderr.flush()
    unread = None
    if PROBE is not None and not request.get("stderr_end"):
        try:
            unread = int.from_bytes(fcntl.ioctl(2, PROBE, b"\\0\\0\\0\\0"), sys.byteorder)
        except OSError:
            pass
    if unread is None:
        sys.stderr.write(END); sys.stderr.flush()
    else:
        meta["stderr"] = unread
    out.write(META + json.dumps(meta) + "\\n" + RESULT + json.dumps(envelope) + "\\n")
    out.flush()
`;

/** Where the suite keeps its files, and what a case needs to build a spec. */
export interface SuiteScratch {
  /** Temp root of the suite on the host: no message sent to a client may contain it. */
  root: string;
  image: string;
}

/** A fresh code directory (with the warm server) and an existing, empty output directory. */
export async function freshDirs(
  s: SuiteScratch,
  files: Record<string, string> = {},
): Promise<{ codeDir: string; outputDir: string }> {
  const dir = join(s.root, randomUUID().slice(0, 8));
  const codeDir = join(dir, 'code');
  const outputDir = join(dir, 'output');
  await mkdir(codeDir, { recursive: true });
  await mkdir(outputDir, { recursive: true });
  for (const [name, text] of Object.entries({ 'serve.py': SUITE_WARM_SERVER, ...files }))
    await writeFile(join(codeDir, name), text);
  return { codeDir, outputDir };
}

/** A cold run of `python3 -c code`. */
export async function pythonSpec(
  s: SuiteScratch,
  code: string,
  extra: Partial<SandboxRunSpec> = {},
): Promise<SandboxRunSpec> {
  return {
    image: s.image,
    command: ['python3', '-c', code],
    ...(await freshDirs(s)),
    env: {},
    timeoutMs: 20_000,
    memoryMb: 256,
    network: 'none',
    ...extra,
  };
}

/** A warm spec for the suite's server; each call passes its Python code in `NG_CODE`. */
export async function warmSpec(s: SuiteScratch, extra: Partial<WarmRunSpec> = {}): Promise<WarmRunSpec> {
  return {
    image: s.image,
    key: `suite-${randomUUID().slice(0, 8)}`,
    serveCommand: ['python3', '-u', 'serve.py'],
    ...(await freshDirs(s)),
    env: {},
    invocationEnv: {},
    timeoutMs: 20_000,
    memoryMb: 256,
    network: 'none',
    ...extra,
  };
}

/** One warm call running `code`; the spec's outputDir is fresh for each call, as the Executor's is. */
export async function warmCall(
  sandbox: Sandbox,
  spec: WarmRunSpec,
  code: string,
): Promise<WarmRunResult & { value: unknown; outputDir: string }> {
  const outputDir = join(spec.outputDir, '..', `out-${randomUUID().slice(0, 8)}`);
  await mkdir(outputDir);
  const run = await sandbox.runWarm!({ ...spec, outputDir, invocationEnv: { ...spec.invocationEnv, NG_CODE: code } });
  return { ...run, value: resultOf(run.stdout), outputDir };
}

/** The value in a RESULT line of stdout (the warm server's or a script's), or the parsed last line. */
export function resultOf(stdout: string): unknown {
  const at = stdout.lastIndexOf(RESULT_MARKER);
  const line =
    at >= 0 ? stdout.slice(at + RESULT_MARKER.length).split('\n')[0]! : (stdout.trim().split('\n').at(-1) ?? '');
  try {
    const parsed = JSON.parse(line) as { ok?: boolean; result?: unknown; error?: unknown };
    if (at < 0) return parsed;
    if (parsed.ok !== true) throw new Error(`the warm call failed: ${JSON.stringify(parsed.error)}`);
    return parsed.result;
  } catch (err) {
    if (at >= 0) throw err;
    return line;
  }
}

/** Every file under `dir` (relative path → bytes), and the entries that are not regular files or directories. */
export async function listTree(dir: string): Promise<{ files: Map<string, Buffer>; odd: string[] }> {
  const files = new Map<string, Buffer>();
  const odd: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(join(d, e.name), path);
      else if (e.isFile()) files.set(path, await readFile(join(d, e.name)));
      else odd.push(path);
    }
  };
  await walk(dir, '');
  return { files, odd };
}

/** Live (non-zombie) host processes whose command line contains `marker` (a local engine's containers included). */
export async function processesWith(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = (await readFile(`/proc/${name}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      if (cmdline.includes(marker) && stat[stat.lastIndexOf(')') + 2] !== 'Z') found.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

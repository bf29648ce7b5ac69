// Per-call state of the NanoGrid Node warm server, kept cheap: the scratch directories it empties, and each
// call's environment names. Copied beside the user's code as `__nanogrid_warm.mjs`.
import { chmodSync, lstatSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format } from 'node:util';
import { importEntry, isScript } from './__nanogrid_lambda.mjs';

/**
 * Gives the owner back the rights on `path` and the directories below it (never following a link): a directory a
 * call made unlistable or unwritable would otherwise survive its emptying, files and all. The server runs as the
 * function's user: nothing it may not do itself.
 */
function unlock(path) {
  let below;
  try {
    if (!lstatSync(path).isDirectory()) return;
    chmodSync(path, 0o700);
    below = readdirSync(path, { withFileTypes: true }).filter((e) => e.isDirectory());
  } catch {
    return;
  }
  for (const e of below) unlock(join(path, e.name));
}

function remove(path) {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    // a mount point or a file the call made read-only: what can go, went
  }
}

export function clear(dir) {
  if (!dir) return;
  let names = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const path = join(dir, n);
    remove(path);
    // Only when a call locked something: the common path pays one lstat.
    if (lstatSync(path, { throwIfNoEntry: false })) {
      unlock(path);
      remove(path);
    }
  }
}

/** Files below `dir`; a directory the call made unreadable is skipped (as Python's os.walk does), never thrown. */
function countFiles(dir) {
  if (!dir) return 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  let n = 0;
  for (const e of entries) {
    if (e.isFile()) n++;
    else if (e.isDirectory()) n += countFiles(join(dir, e.name));
  }
  return n;
}

// A directory's state is trusted to mean "still empty" only when its mtime and ctime are older than this: a
// change within the kernel's timestamp tick (or a filesystem's 1 s granularity) could leave them equal.
const SETTLED_NS = 2_000_000_000n;
const COARSE_SETTLED_NS = 20_000_000n;

function state(dir) {
  const st = statSync(dir, { bigint: true, throwIfNoEntry: false });
  return st && [st.dev, st.ino, st.mtimeNs, st.ctimeNs, st.nlink, st.size, st.mode];
}
const same = (a, b) => a !== undefined && b !== undefined && a.every((v, i) => v === b[i]);

/**
 * A directory the server empties before each call (temp, output) and whose files it counts after. A listing
 * costs five syscalls; one stat tells whether anything happened since the directory was last seen empty:
 * creating, removing, renaming or linking an entry changes its mtime and ctime (ctime cannot be set back), and
 * anything nested sits below an entry created since. A state is kept only when it is old enough that a later
 * change cannot share its timestamp.
 */
export class Scratch {
  constructor(dir) {
    this.dir = dir;
    this.empty = undefined; // the directory's state when it was last listed empty, if trusted
    // The sandbox's mode for it: a call that changed it gets it put back.
    try {
      this.mode = dir ? statSync(dir, { throwIfNoEntry: false })?.mode : undefined;
    } catch {
      this.mode = undefined;
    }
  }

  clear() {
    if (!this.dir) return;
    let now;
    try {
      now = state(this.dir);
    } catch {
      now = undefined;
    }
    if (same(now, this.empty)) return;
    this.empty = undefined;
    if (now && this.mode !== undefined && Number(now[6]) !== this.mode) {
      try {
        chmodSync(this.dir, this.mode & 0o7777);
      } catch {
        // not the call's to change (Docker's are root's): nothing to put back
      }
    }
    let names;
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    if (names.length > 0) clear(this.dir);
    else if (now) this.trust(now);
  }

  count() {
    if (!this.dir) return 0;
    try {
      if (this.empty && same(state(this.dir), this.empty)) return 0;
    } catch {
      // unreadable: counted the long way (which reports it)
    }
    this.empty = undefined;
    return countFiles(this.dir);
  }

  trust(st) {
    // The stat came before the listing: whatever came after it changes the state.
    const [, , mtime, ctime] = st;
    const second = 1_000_000_000n;
    const settled = mtime % second === 0n || ctime % second === 0n ? SETTLED_NS : COARSE_SETTLED_NS;
    const before = BigInt(Date.now()) * 1_000_000n - settled;
    if (mtime < before && ctime < before) this.empty = st;
  }
}
/**
 * Each call's names (PAYLOAD, JOB_ID, the deadline ...). Assigning to the real `process.env` calls setenv(3), and
 * glibc keeps every NAME=value string setenv ever made: a warm instance grew by the size of every event it was
 * given, until its memory limit killed it. So `process.env` becomes an ordinary object (behind a proxy that
 * makes values strings, as the real one does) holding the environment. Each call's names are set there only:
 * code reads them there, and child processes get them (child_process passes `process.env`). Every other name a
 * handler sets or deletes goes to the real environment too (TZ, and what native code reads with getenv).
 */
export class CallEnv {
  constructor() {
    this.real = process.env;
    this.names = new Set(['PAYLOAD']);
    const { real, names } = this;
    this.handler = {
      set(t, name, value) {
        const text = String(value);
        t[name] = text;
        if (typeof name === 'string' && !names.has(name)) real[name] = text;
        return true;
      },
      deleteProperty(t, name) {
        delete t[name];
        if (typeof name === 'string' && !names.has(name)) delete real[name];
        return true;
      },
    };
    this.wrap({ ...real });
  }

  wrap(target) {
    this.target = target;
    this.env = new Proxy(target, this.handler);
    process.env = this.env;
  }

  /** Sets a call's names; `payload` undefined: the event is too large for PAYLOAD, which is unset. */
  update(env, payload) {
    // A handler that put another object in process.env (a copy, a fresh one) would leave the next call its own
    // values (the last call's JOB_ID and PAYLOAD) if the names were set on ours: its object's names are kept.
    if (process.env !== this.env) this.wrap({ ...Object(process.env) });
    for (const [name, value] of Object.entries(env)) {
      this.names.add(name);
      this.target[name] = String(value);
    }
    if (payload === undefined) delete this.target.PAYLOAD;
    else this.target.PAYLOAD = payload;
  }
}

/**
 * Runs once in a prewarmed spare, before any function is known: the paths a first call takes, with nothing of a
 * user's. The runtime image's Node (Debian's nodejs 18) has no startup snapshot and no code cache: it compiles
 * each internal function the first time it runs, so a spare pays that now instead of a function's first call
 * (reading the request, checking and importing the module, CommonJS or ESM, calling, answering). `requests`
 * reads lines of `input` (stdin); call this before the server awaits anything, so that the line pushed here is
 * read ahead of any byte the host sends. Resolves with what failed (undefined: nothing): only a head start, what
 * failed here the call does again.
 */
export async function warmUp({ input, requests, call, write, tmp, out, shm }) {
  let failure;
  try {
    // Functions get Lambda's TZ (:UTC) unless they name their own. Setting TZ makes V8 and ICU look the zone up
    // again, and the first local time after that loads it (~1.5 ms): done here, setInitEnv skips an equal TZ.
    process.env.TZ ??= LAMBDA_TZ;
    new Date(0).getHours();
    input.push('{"env":{}}\n');
    JSON.parse((await requests.next()).value);
    await call();
    // A module of each kind, under names no function will use; removed with the rest of /tmp before its call.
    const base = tmp.dir && join(tmp.dir, `__nanogrid_warm_${Math.random().toString(36).slice(2)}`);
    if (base) {
      writeFileSync(`${base}.mjs`, 'export const handler = () => null;\n');
      writeFileSync(`${base}.js`, 'exports.handler = () => null;\n');
      for (const file of [`${base}.mjs`, `${base}.js`]) {
        if (isScript(file) || typeof (await importEntry(file)).handler !== 'function') throw new Error(file);
      }
    }
    format('%s %d %j', 'console', 1, { a: [1] }, new Date().toISOString());
    // Writes of nothing: the write path of both pipes runs, the host reads no byte.
    write('');
    process.stderr.write('');
    out.count();
  } catch (err) {
    failure = err;
  }
  tmp.clear();
  // Listed again once the warm-up's own changes are older than a timestamp tick (Scratch.trust): the first call's
  // emptying is then one stat per directory.
  await new Promise((settled) => setTimeout(settled, SETTLE_MS));
  for (const dir of [tmp, out, shm]) dir?.clear();
  return failure;
}

const LAMBDA_TZ = ':UTC';
const SETTLE_MS = Number(COARSE_SETTLED_NS / 1_000_000n) + 5;

/**
 * A spare's start: the function's fixed environment (its first line). TZ is set only when it differs from the one
 * the warm-up set; a function that names none gets the spare's own back (a cold instance would have that).
 */
export function setInitEnv(env, bootTz) {
  for (const [name, value] of Object.entries(env)) {
    if (name !== 'TZ' || process.env.TZ !== String(value)) process.env[name] = value;
  }
  if (Object.hasOwn(env, 'TZ') || process.env.TZ === bootTz) return;
  if (bootTz === undefined) delete process.env.TZ;
  else process.env.TZ = bootTz;
}

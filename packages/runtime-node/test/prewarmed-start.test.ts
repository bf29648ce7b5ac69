// A prewarmed Node spare as the Docker pool starts one (the runtime's files in its directory, the starter of
// serve.prewarm), run here as a plain process: what it does with the function's env line and its first call.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { RESULT_MARKER } from '@nanogrid/core';
import { eventually } from '@nanogrid/core/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { nodeRuntime } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'nanogrid-prewarmed-start-'));
const spares: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of spares.splice(0)) child.kill('SIGKILL');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** CPU ticks the process used so far (utime + stime of /proc/<pid>/stat). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Starts a spare in a directory of its own: the runtime's files only, no function yet. */
function startSpare(bootEnv: Record<string, string> = {}) {
  const dir = mkdtempSync(join(root, 'spare-'));
  const code = join(dir, 'code');
  const scratch = ['tmp', 'output', 'shm'].map((name) => join(dir, name));
  for (const d of [code, ...scratch]) mkdirSync(d);
  const rt = nodeRuntime();
  for (const [file, source] of Object.entries(rt.bootstrap)) writeFileSync(join(code, file), source);
  const [, ...args] = rt.serve!.prewarm!;
  const child = spawn(process.execPath, args, {
    cwd: code,
    env: {
      PATH: process.env.PATH,
      TMPDIR: scratch[0],
      OUTPUT_DIR: scratch[1],
      NANOGRID_SHM_DIR: scratch[2],
      ...bootEnv,
    },
  });
  spares.push(child);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    child,
    code,
    send: (line: object) => child.stdin.write(`${JSON.stringify(line)}\n`),
    /** The envelope of the next answer. */
    async result(): Promise<unknown> {
      for (;;) {
        const { value, done } = await lines.next();
        if (done) throw new Error('the spare ended');
        if (value.startsWith(RESULT_MARKER)) return JSON.parse(value.slice(RESULT_MARKER.length));
      }
    },
    /** Resolves once the spare's start (imports, warm-up) is over: its CPU time stops moving. */
    async idle(): Promise<void> {
      let last = -1;
      let still = 0;
      await eventually(async () => {
        if (child.exitCode !== null || child.signalCode !== null) return; // gone: the caller's checks say why
        const now = cpuTicks(child.pid!);
        still = now === last ? still + 1 : 0;
        last = now;
        if (still < 5) throw new Error('still starting');
      }, 20_000);
    },
  };
}

const FN_ENV = { HANDLER: 'fn.handler', NANOGRID_ENTRY_FILE: 'fn.mjs' };

describe('a prewarmed Node spare', () => {
  it("gives a function the TZ it names, and the spare's own (none) when it names none", async () => {
    const probe =
      'export const handler = () => ({ tz: process.env.TZ ?? null, offset: new Date(0).getTimezoneOffset() });\n';
    const cases: [Record<string, string>, Record<string, string>, unknown][] = [
      [{}, {}, { tz: null, offset: 0 }],
      [{}, { TZ: ':UTC' }, { tz: ':UTC', offset: 0 }],
      [{}, { TZ: 'America/New_York' }, { tz: 'America/New_York', offset: 300 }],
      [{ TZ: 'America/New_York' }, {}, { tz: 'America/New_York', offset: 300 }],
      [{ TZ: 'America/New_York' }, { TZ: ':UTC' }, { tz: ':UTC', offset: 0 }],
    ];
    for (const [bootEnv, fnEnv, expected] of cases) {
      const spare = startSpare(bootEnv);
      writeFileSync(join(spare.code, 'fn.mjs'), probe);
      spare.send({ env: { ...FN_ENV, ...fnEnv } });
      spare.send({ env: { PAYLOAD: '{}', JOB_ID: 'job-tz' } });
      expect(await spare.result()).toEqual({ ok: true, result: expected });
    }
  });

  it('a module that writes to /tmp while it loads and sets the directory times back: its first call starts empty', async () => {
    const spare = startSpare();
    await spare.idle(); // the warm-up listed /tmp empty: the first call's emptying trusts its stat
    const hide = [
      "import { readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';",
      'const dir = process.env.TMPDIR;',
      'const before = statSync(dir);',
      "writeFileSync(`${dir}/left-at-load`, 'x');",
      'utimesSync(dir, before.atime, before.mtime);',
      'export const handler = () => readdirSync(dir);',
    ].join('\n');
    writeFileSync(join(spare.code, 'fn.mjs'), hide);
    spare.send({ env: FN_ENV });
    spare.send({ env: { PAYLOAD: '{}', JOB_ID: 'job-hide' } });
    expect(await spare.result()).toEqual({ ok: true, result: [] });
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../logger.js';
import type { Sandbox } from '../plugins/sandbox.js';
import { STDERR_END } from '../plugins/runtime-plugin.js';
import { HOSTILE_CASES, type HostileCaseId, type HostileOutcome } from './hostile-cases.js';
import { listTree, pythonSpec, resultOf, type SuiteScratch, warmCall, warmSpec } from './sandbox-fixtures.js';
import { HOSTILE_TESTS } from './sandbox-hostile.js';

export type SandboxSuiteFactory = (ctx: { logger: Logger }) => Sandbox | Promise<Sandbox>;

export interface SandboxSuiteOptions {
  /** Image holding python3 (Docker); the process sandbox runs the host's python3. @default 'nanogrid/python:3' */
  image?: string;
  /**
   * Hostile cases this sandbox does not promise to hold, each with the reason.
   * For those the suite checks the sandbox says it is not isolated and warned
   * at creation (`warning`), instead of running the attack.
   * @default {}
   */
  unpromised?: Partial<Record<HostileCaseId, string>>;
  /**
   * Whether a run under the `none` policy is cut off the network. When false,
   * the suite checks the sandbox says it is not isolated and warned instead.
   * @default true
   */
  noNetwork?: boolean;
  /** What the creation warning of a sandbox with unpromised cases matches. @default /NOT isolated/ */
  warning?: RegExp;
  /** Receives each hostile case's outcome (docs/security.md is checked against them). */
  onOutcome?(id: HostileCaseId, outcome: HostileOutcome): void;
}

/** What a hostile test gets. */
export interface HostileContext {
  sandbox: Sandbox;
  scratch: SuiteScratch;
}

/** The host's first non-loopback IPv4 address (a sandbox without network must not reach it). */
function hostAddress(): string {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}

/**
 * Conformance suite of a Sandbox: the contract every run relies on (exit
 * codes, timeout, memory, capped output, outputs, no network, warm reuse) and
 * one test per hostile case (HOSTILE_CASES). The fixtures are Python
 * (`python3` on the host or in `image`).
 */
export function testSandbox(name: string, factory: SandboxSuiteFactory, opts: SandboxSuiteOptions = {}): void {
  const unpromised = opts.unpromised ?? {};
  const warning = opts.warning ?? /NOT isolated/;

  describe(`Sandbox conformance: ${name}`, () => {
    let sandbox: Sandbox;
    const warnings: string[] = [];
    const scratch: SuiteScratch = { root: '', image: opts.image ?? 'nanogrid/python:3' };
    const logger: Logger = { info() {}, error() {}, debug() {}, warn: (msg) => void warnings.push(msg) };
    let server: Server;

    beforeAll(async () => {
      scratch.root = await mkdtemp(join(tmpdir(), 'ng-sandbox-suite-'));
      sandbox = await factory({ logger });
      server = createServer((s) => s.end('reached\n'));
      await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
    });
    afterAll(async () => {
      await sandbox?.close?.();
      server?.close();
      if (scratch.root) await rm(scratch.root, { recursive: true, force: true });
    });

    it('returns the exit code, stdout and stderr', async () => {
      const run = await sandbox.run(
        await pythonSpec(scratch, 'import sys; print("out"); print("err", file=sys.stderr); sys.exit(3)'),
      );
      expect(run).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false, oomKilled: false });
    });

    it('kills a run at its timeout', async () => {
      const t0 = Date.now();
      const run = await sandbox.run(await pythonSpec(scratch, 'import time; time.sleep(60)', { timeoutMs: 1500 }));
      expect(run.timedOut).toBe(true);
      expect(run.exitCode).toBe(null);
      expect(Date.now() - t0).toBeLessThan(15_000);
    });

    it('kills a run over its memory limit', async () => {
      const hog = 'a = []\nwhile True:\n    a.append(b"x" * (8 << 20))\n';
      const run = await sandbox.run(await pythonSpec(scratch, hog, { memoryMb: 64 }));
      expect(run.oomKilled).toBe(true);
      expect(run.exitCode).toBe(null);
    });

    it('keeps the head of stdout and the tail of stderr within their caps', async () => {
      const code =
        'import sys; sys.stdout.write("o" * 100000 + "TAILOUT"); sys.stderr.write("HEADERR" + "e" * 100000 + "END")';
      const run = await sandbox.run(await pythonSpec(scratch, code, { maxStdoutBytes: 4096, maxStderrBytes: 4096 }));
      expect(run).toMatchObject({ exitCode: 0, stdoutTruncated: true, stderrTruncated: true });
      expect(run.stdout.length).toBeLessThanOrEqual(4096);
      expect(run.stdout.startsWith('ooo')).toBe(true);
      expect(run.stderr.length).toBeLessThanOrEqual(4096);
      expect(run.stderr.endsWith('END')).toBe(true);
    });

    it('copies the files left in OUTPUT_DIR, nested folders kept', async () => {
      const code =
        'import os; d = os.environ["OUTPUT_DIR"]; os.makedirs(d + "/sub"); open(d + "/a.txt", "w").write("A"); open(d + "/sub/b.txt", "w").write("B")';
      const spec = await pythonSpec(scratch, code);
      expect((await sandbox.run(spec)).exitCode).toBe(0);
      const { files, odd } = await listTree(spec.outputDir);
      expect(Object.fromEntries([...files].map(([k, v]) => [k, v.toString()]))).toEqual({
        'a.txt': 'A',
        'sub/b.txt': 'B',
      });
      expect(odd).toEqual([]);
    });

    it('gives no network under the "none" policy', async () => {
      if (opts.noNetwork === false) {
        expect(sandbox.isolated).toBe(false);
        expect(warnings.some((w) => warning.test(w))).toBe(true);
        return;
      }
      const port = (server.address() as { port: number }).port;
      const code = `import socket\ntry:\n    socket.create_connection((${JSON.stringify(hostAddress())}, ${port}), timeout=3).recv(16); print("reached")\nexcept OSError as e:\n    print("blocked")`;
      const run = await sandbox.run(await pythonSpec(scratch, code));
      expect(run.stdout.trim()).toBe('blocked');
    });

    it('serves a second call of the same key from the warm instance it started', async () => {
      expect(sandbox.runWarm).toBeDefined();
      const spec = await warmSpec(scratch);
      const code = 'STATE["n"] = STATE.get("n", 0) + 1; result = STATE["n"]';
      const first = await warmCall(sandbox, spec, code);
      const second = await warmCall(sandbox, spec, code);
      expect([first.start, first.value]).toEqual(['cold', 1]);
      expect([second.start, second.value]).toEqual(['warm', 2]);
      expect(resultOf(second.stdout)).toBe(2);
    });

    it('gives a warm call all the stderr it wrote before its answer, however written, and only its own', async () => {
      const spec = await warmSpec(scratch);
      // Through sys.stderr, fd 2 itself, a child inheriting fd 2, more than a pipe holds, and a forged end mark.
      const code = [
        'import os, subprocess, sys',
        'sys.stderr.write("A-sys\\n"); sys.stderr.flush()',
        'os.write(2, b"B-fd2\\n")',
        `os.write(2, ${JSON.stringify(STDERR_END)}.encode() + b"C-after-forged-mark\\n")`,
        'subprocess.run(["sh", "-c", "echo D-child >&2"])',
        'os.write(2, b"x" * 200000 + b"\\nE-tail\\n")',
        'result = 1',
      ].join('\n');
      // Several times: the answer and the last stderr bytes reach the host together, in either order.
      for (let n = 0; n < 4; n++) {
        const call = await warmCall(sandbox, spec, code);
        expect(call.value).toBe(1);
        for (const text of ['A-sys\n', 'B-fd2\n', 'C-after-forged-mark\n', 'D-child\n'])
          expect(call.stderr, text).toContain(text);
        expect(call.stderr.endsWith('\nE-tail\n')).toBe(true);
        expect(call.stderr).not.toContain(STDERR_END);
      }
      const quiet = await warmCall(sandbox, spec, 'import os\nos.write(2, b"only-mine\\n")\nresult = 2');
      expect([quiet.start, quiet.value, quiet.stderr]).toEqual(['warm', 2, 'only-mine\n']);
    });

    describe('hostile code', () => {
      for (const c of HOSTILE_CASES) {
        const why = unpromised[c.id];
        if (why !== undefined) {
          it(`${c.id}: not promised (${why}); the sandbox says it is not isolated and warned`, () => {
            expect(sandbox.isolated).toBe(false);
            expect(warnings.some((w) => warning.test(w))).toBe(true);
            opts.onOutcome?.(c.id, 'not promised');
          });
          continue;
        }
        it(`${c.id}: ${c.holds}`, async () => {
          await HOSTILE_TESTS[c.id]({ sandbox, scratch });
          opts.onOutcome?.(c.id, 'holds');
        }, 120_000);
      }
    });
  });
}

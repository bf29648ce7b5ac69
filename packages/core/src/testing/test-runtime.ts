import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke, type InvokeOutcome } from '../engine/invoke.js';
import type { RuntimePlugin } from '../plugins/runtime-plugin.js';
import type { OutputListener, Sandbox } from '../plugins/sandbox.js';
import type { RuntimeFixture, RuntimeFixtures } from './runtime-fixtures.js';
import { lambdaCases } from './test-runtime-lambda.js';
import { envCases } from './test-runtime-env.js';
import { liveOutputCases } from './test-runtime-live.js';
import { scratchCases } from './test-runtime-scratch.js';

export type { RuntimeFixture, RuntimeFixtures } from './runtime-fixtures.js';

export interface TestRuntimeOptions {
  runtime: RuntimePlugin;
  /** A fresh sandbox; closed after the suite when it has `close`. */
  sandbox: () => Sandbox | Promise<Sandbox>;
  fixtures: RuntimeFixtures;
  /** Timeout of each run. @default 20_000 */
  timeoutMs?: number;
  /** Memory limit of each run, MB. @default 512 */
  memoryMb?: number;
  /** Run every case on warm instances too (the runtime's warm server), when the runtime has one. @default true */
  warm?: boolean;
}

/** How the suite invokes: a fresh process / container per run, or the runtime's warm server. */
export type RuntimeMode = 'cold' | 'warm';

/** What the cases of the suite get from it. */
export interface RuntimeHarness {
  runtime: RuntimePlugin;
  fixtures: RuntimeFixtures;
  mode: RuntimeMode;
  timeoutMs: number;
  /** Writes a fixture with the runtime's bootstrap into a fresh code directory. */
  prepare(fixture: RuntimeFixture): Promise<PreparedFixture>;
  /** One invocation of a prepared fixture (warm mode: on its instance, started by the first call). */
  call(prepared: PreparedFixture, payload: unknown, extra?: CallExtras): Promise<RunOutcome>;
  /** prepare + call. */
  run(fixture: RuntimeFixture, payload: unknown): Promise<RunOutcome>;
  expectOk(outcome: InvokeOutcome): unknown;
}

/** What a case may add to one invocation. */
export interface CallExtras {
  env?: Record<string, string>;
  /** Hears the run's output while it runs. */
  onOutput?: OutputListener;
}

export interface PreparedFixture {
  fixture: RuntimeFixture;
  codeDir: string;
  dir: string;
  key: string;
}

export type RunOutcome = InvokeOutcome & { outputDir: string; jobId: string };

const AI_ENDPOINT = 'http://127.0.0.1:11434';

/**
 * Conformance suite of a RuntimePlugin without a build step (Python, Node …):
 * every fixture is written with the runtime's bootstrap into a temp code
 * directory and run through `invoke()`, so only the interface is exercised.
 */
export function testRuntime(name: string, opts: TestRuntimeOptions): void {
  const { runtime, fixtures } = opts;
  const timeoutMs = opts.timeoutMs ?? 20_000;

  const modes: RuntimeMode[] = opts.warm !== false && runtime.serve ? ['cold', 'warm'] : ['cold'];
  describe.each(modes)(`RuntimePlugin conformance: ${name} (%s)`, (mode) => {
    let sandbox: Sandbox;
    let root: string;

    beforeAll(async () => {
      sandbox = await opts.sandbox();
      root = await mkdtemp(join(tmpdir(), `nanogrid-runtime-${runtime.name}-`));
    });
    afterAll(async () => {
      await sandbox?.close?.();
      if (root) await rm(root, { recursive: true, force: true });
    });

    async function prepare(fixture: RuntimeFixture): Promise<PreparedFixture> {
      const key = randomUUID();
      const dir = join(root, key);
      const codeDir = join(dir, 'code');
      for (const [path, source] of Object.entries({ ...fixture.files, ...runtime.bootstrap })) {
        await mkdir(dirname(join(codeDir, path)), { recursive: true });
        await writeFile(join(codeDir, path), source);
      }
      return { fixture, codeDir, dir, key };
    }

    /** Runs a prepared fixture with its own output directory. */
    async function call(prepared: PreparedFixture, payload: unknown, extra: CallExtras = {}): Promise<RunOutcome> {
      const { fixture, codeDir } = prepared;
      const outputDir = join(prepared.dir, `output-${randomUUID()}`);
      await mkdir(outputDir, { recursive: true });
      const jobId = `job-${randomUUID()}`;
      const outcome = await invoke(sandbox, {
        runtime,
        fn: {
          runtime: runtimeId(runtime),
          handler: fixture.handler ?? runtime.defaultHandler,
          entryFile: fixture.entryFile,
        },
        codeDir,
        outputDir,
        payload,
        jobId,
        functionId: `fn-${runtime.name}`,
        functionName: `conformance-${runtime.name}`,
        timeoutMs,
        memoryMb: opts.memoryMb ?? 512,
        network: 'none',
        aiEndpoint: AI_ENDPOINT,
        ...(extra.env ? { env: extra.env } : {}),
        ...(extra.onOutput ? { onOutput: extra.onOutput } : {}),
        ...(mode === 'warm' ? { warmKey: prepared.key } : {}),
      });
      if (mode === 'warm' && sandbox.runWarm) expect(outcome.start, 'served by a warm instance').toBeDefined();
      return { ...outcome, outputDir, jobId };
    }

    const run = async (fixture: RuntimeFixture, payload: unknown): Promise<RunOutcome> =>
      call(await prepare(fixture), payload);

    function expectOk(outcome: InvokeOutcome): unknown {
      if (!outcome.ok) expect.fail(`run failed: ${JSON.stringify(outcome.error)}\nlogs: ${outcome.logs}`);
      return outcome.result;
    }

    it('describes itself: name, ids, extensions, entry command', () => {
      expect(runtime.name).toMatch(/\S/);
      expect(runtime.runtimes.length).toBeGreaterThan(0);
      expect(runtime.extensions.length).toBeGreaterThan(0);
      for (const ext of runtime.extensions) expect(ext).toMatch(/^\.\w+$/);
      expect(runtime.defaultHandler).toMatch(/\S/);
      expect(['envelope', 'stdout']).toContain(runtime.protocol);
      const command = runtime.entry({
        runtime: runtimeId(runtime),
        handler: runtime.defaultHandler,
        entryFile: fixtures.echo.entryFile,
      });
      expect(command.length).toBeGreaterThan(0);
      for (const file of Object.keys(runtime.bootstrap)) expect(file).not.toMatch(/^\/|\.\./);
    });

    it('passes the event and the context to the handler and returns its JSON', async () => {
      const payload = {
        name: 'Ada',
        nested: { list: [1, 2.5, 'x', null, true] },
        unicode: 'héllo ✓ 世界',
        quote: 'a "b"\n',
      };
      const outcome = await run(fixtures.echo, payload);
      const result = expectOk(outcome) as Record<string, unknown>;
      expect(result.event).toEqual(payload);
      expect(result.job_id).toBe(outcome.jobId);
      expect(result.function_id).toBe(`fn-${runtime.name}`);
      expect(result.function_name).toBe(`conformance-${runtime.name}`);
      expect(result.ai_endpoint).toBe(AI_ENDPOINT);
      expect(typeof result.output_dir).toBe('string');
      expect(result.output_dir).not.toBe('');
      expect(typeof result.remaining_ms).toBe('number');
      expect(result.remaining_ms).toBeGreaterThan(0);
      expect(result.remaining_ms).toBeLessThanOrEqual(timeoutMs);
    });

    it('keeps concurrent runs apart', async () => {
      const outcomes = await Promise.all([1, 2, 3].map((n) => run(fixtures.echo, { n })));
      outcomes.forEach((outcome, i) => {
        const result = expectOk(outcome) as Record<string, unknown>;
        expect(result.event).toEqual({ n: i + 1 });
        expect(result.job_id).toBe(outcome.jobId);
      });
    });

    it('awaits an async handler', async () => {
      expect(expectOk(await run(fixtures.asyncHandler, { value: 'later' }))).toEqual({ async: true, value: 'later' });
    });

    it('reports an exception as FUNCTION_ERROR with its type, message and trace', async () => {
      const outcome = await run(fixtures.throws, { message: 'conformance-boom' });
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      expect(outcome.error.code).toBe('FUNCTION_ERROR');
      expect(outcome.error.type).toBe(fixtures.throws.errorType);
      expect(outcome.error.message).toContain('conformance-boom');
      expect(outcome.error.trace).toMatch(/\S/);
      expect(outcome.error.trace, "the trace starts in the function's code").not.toMatch(/__nanogrid_/);
    });

    it('runs a file without a handler as a script: PAYLOAD in, stdout text out', async () => {
      expect(expectOk(await run(fixtures.scriptText, { name: 'Ada' }))).toBe('Hello, Ada!');
    });

    it("parses a script's stdout as JSON when it is JSON", async () => {
      expect(expectOk(await run(fixtures.scriptJson, { a: 2, b: 3 }))).toEqual({ sum: 5 });
    });

    it('fails a script that exits non-zero, keeping what it printed in the logs', async () => {
      const outcome = await run(fixtures.scriptExit, {});
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      expect(['FUNCTION_ERROR', 'NON_ZERO_EXIT']).toContain(outcome.error.code);
      expect(outcome.logs).toContain('partial output');
    });

    it("turns a handler's prints into logs, not into its result, even when there are many", async () => {
      const lines = 20_000; // several pipe buffers: the run must not block on its own logs
      const outcome = await run(fixtures.logs, { lines });
      expect(expectOk(outcome)).toEqual({ done: true });
      expect(outcome.logs).toContain(`log line ${lines - 1}`);
    });

    it("leaves files written to the output directory in the run's outputDir", async () => {
      const outcome = await run(fixtures.output, { text: 'conformance output ✓' });
      expect(expectOk(outcome)).toEqual({ written: true });
      expect(await readFile(join(outcome.outputDir, 'out.txt'), 'utf8')).toBe('conformance output ✓');
    });

    it('lets a module import another file of the code directory', async () => {
      expect(Object.keys(fixtures.multiFile.files).length).toBeGreaterThan(1);
      expect(expectOk(await run(fixtures.multiFile, {}))).toEqual({ answer: 42 });
    });

    it('reports a result JSON cannot carry as FUNCTION_ERROR ResultNotSerializable', async () => {
      const outcome = await run(fixtures.unserializable, {});
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      expect(outcome.error.code).toBe('FUNCTION_ERROR');
      expect(outcome.error.type).toBe('ResultNotSerializable');
    });

    lambdaCases({ runtime, fixtures, mode, timeoutMs, prepare, call, run, expectOk });
    liveOutputCases({ runtime, fixtures, mode, timeoutMs, prepare, call, run, expectOk });
    scratchCases({ runtime, fixtures, mode, timeoutMs, prepare, call, run, expectOk });
    envCases({ runtime, fixtures, mode, timeoutMs, prepare, call, run, expectOk });
  });
}

/** A concrete id the runtime accepts: its first plain-string id, else its name. */
function runtimeId(runtime: RuntimePlugin): string {
  return runtime.runtimes.find((r): r is string => typeof r === 'string') ?? runtime.name;
}

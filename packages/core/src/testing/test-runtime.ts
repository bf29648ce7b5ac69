import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke, type InvokeOutcome } from '../engine/invoke.js';
import type { RuntimePlugin } from '../plugins/runtime-plugin.js';
import type { Sandbox } from '../plugins/sandbox.js';

/** One function's sources, written into a fresh code directory beside the runtime's bootstrap. */
export interface RuntimeFixture {
  /** Path relative to the code root → source. Sub-folders are allowed. */
  files: Record<string, string>;
  /** File holding the handler or the script. */
  entryFile: string;
  /** `module.function`. @default the runtime's `defaultHandler` */
  handler?: string;
}

/**
 * The language-specific sources the suite runs. Each entry's doc is its contract:
 * what the function must do with its event and what it must return.
 */
export interface RuntimeFixtures {
  /**
   * Handler returning `{ event, job_id, function_id, function_name, output_dir, ai_endpoint, remaining_ms }`
   * read from its event and context (`remaining_ms` from the context's remaining-time function).
   */
  echo: RuntimeFixture;
  /** Async handler that awaits a timer, then returns `{ async: true, value: event.value }`. */
  asyncHandler: RuntimeFixture;
  /** Handler that throws an exception of class `errorType` with message `event.message`. */
  throws: RuntimeFixture & { errorType: string };
  /** Script without a handler: reads `PAYLOAD` `{ name }` and prints the text `Hello, {name}!` (the original hello). */
  scriptText: RuntimeFixture;
  /** Script without a handler: reads `PAYLOAD` `{ a, b }` and prints the JSON `{"sum": a + b}`. */
  scriptJson: RuntimeFixture;
  /** Script that prints `partial output`, then exits with code 3. */
  scriptExit: RuntimeFixture;
  /** Handler that prints `log line {i}` for i in 0 … event.lines - 1 to stdout, then returns `{ done: true }`. */
  logs: RuntimeFixture;
  /** Handler that writes `event.text` to `out.txt` in the output directory, then returns `{ written: true }`. */
  output: RuntimeFixture;
  /** Handler that imports a second file of the code directory and returns `{ answer: 42 }` computed there. */
  multiFile: RuntimeFixture;
  /** Handler returning a value JSON cannot carry (a Python set, a JavaScript BigInt). */
  unserializable: RuntimeFixture;
}

export interface TestRuntimeOptions {
  runtime: RuntimePlugin;
  /** A fresh sandbox; closed after the suite when it has `close`. */
  sandbox: () => Sandbox | Promise<Sandbox>;
  fixtures: RuntimeFixtures;
  /** Timeout of each run. @default 20_000 */
  timeoutMs?: number;
  /** Memory limit of each run, MB. @default 512 */
  memoryMb?: number;
}

const AI_ENDPOINT = 'http://127.0.0.1:11434';

/**
 * Conformance suite of a RuntimePlugin without a build step (Python, Node …):
 * every fixture is written with the runtime's bootstrap into a temp code
 * directory and run through `invoke()`, so only the interface is exercised.
 */
export function testRuntime(name: string, opts: TestRuntimeOptions): void {
  const { runtime, fixtures } = opts;
  const timeoutMs = opts.timeoutMs ?? 20_000;

  describe(`RuntimePlugin conformance: ${name}`, () => {
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

    /** Runs one fixture in its own code and output directories. */
    async function run(
      fixture: RuntimeFixture,
      payload: unknown,
    ): Promise<InvokeOutcome & { outputDir: string; jobId: string }> {
      const dir = join(root, randomUUID());
      const codeDir = join(dir, 'code');
      const outputDir = join(dir, 'output');
      await mkdir(outputDir, { recursive: true });
      for (const [path, source] of Object.entries({ ...fixture.files, ...runtime.bootstrap })) {
        await mkdir(dirname(join(codeDir, path)), { recursive: true });
        await writeFile(join(codeDir, path), source);
      }
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
      });
      return { ...outcome, outputDir, jobId };
    }

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
  });
}

/** A concrete id the runtime accepts: its first plain-string id, else its name. */
function runtimeId(runtime: RuntimePlugin): string {
  return runtime.runtimes.find((r): r is string => typeof r === 'string') ?? runtime.name;
}

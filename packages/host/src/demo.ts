import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type SandboxChoice, consoleLogger, findExecutable } from '@nanogrid/core';
import { CORE_CASES, type DemoCase } from './demo/demo-cases.js';
import { DemoClient } from './demo/demo-client.js';
import { DOCKER_CASES, startDemoAi } from './demo/docker-cases.js';
import { CPP_CASE, GO_CASE } from './demo/compiled-cases.js';
import { startHost } from './start-host.js';

/** examples/functions of the checkout this file belongs to. */
function findExamples(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'examples', 'functions');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return undefined;
}

const cut = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const pad = (s: string, n: number): string => cut(s, n).padEnd(n);

/**
 * `nanogrid demo`: an all-in-one host on the embedded defaults (memory queue and
 * results, filesystem storage in a temp dir, sandbox "auto"), the examples
 * deployed and run over real HTTP, one line per example. Exit 1 if any is wrong.
 */
export async function runDemo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { examples: { type: 'string' }, sandbox: { type: 'string' }, verbose: { type: 'boolean' } },
  });
  const examples = values.examples ? resolve(values.examples) : findExamples();
  if (!examples) throw new Error('examples/functions not found; pass --examples <dir>');
  const sandbox = (values.sandbox ?? 'auto') as SandboxChoice;
  const dataDir = await mkdtemp(join(tmpdir(), 'nanogrid-demo-'));
  const logger = consoleLogger('nanogrid', values.verbose ? 'info' : 'warn');
  // A stub Ollama for the summarizer; its cases join only when the sandbox turns out to be Docker.
  const ai = sandbox === 'process' ? undefined : await startDemoAi();
  // The demo runs only its own examples, so it may fall back to plain host processes
  // where nothing isolates them (a `nanogrid start` host refuses to); it says so below.
  const config = {
    dataDir,
    sandbox: { kind: sandbox, isolation: 'none' as const },
    ...(ai ? { ai: { endpoint: ai.url } } : {}),
  };
  const host = await startHost({
    config,
    port: 0,
    hostname: '127.0.0.1',
    handleSignals: false,
    logger,
    cwd: dataDir,
  }).catch(async (err: unknown) => {
    await ai?.close();
    throw err;
  });
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  let failures = 0;
  try {
    const client = new DemoClient(host.url);
    out(
      `NanoGrid demo: all-in-one host at ${host.url} (sandbox: ${host.nanogrid.sandbox.name}${host.nanogrid.sandbox.isolated ? '' : ', not isolated'})`,
    );
    if (!host.nanogrid.sandbox.isolated) {
      out(
        "NOTE: nothing on this machine isolates functions (no Docker engine with images, no working bubblewrap); the demo allows plain host processes for its own examples (sandbox: { isolation: 'none' }). `nanogrid start` refuses to run functions like this unless the config says so.",
      );
    }
    out(`GET /health -> ${JSON.stringify(await client.health())}`);
    out('');
    out(
      `${pad('example', 30)} ${pad('runtime', 11)} ${pad('mode', 5)} ${pad('status', 9)} ${'ms'.padStart(6)}  result`,
    );
    out('-'.repeat(110));
    const inDocker = host.nanogrid.sandbox.name === 'docker';
    // Compiled examples need their toolchain: in the image under Docker, on the host otherwise.
    const onHost = (cmd: string): boolean =>
      findExecutable(cmd, (process.env.PATH ?? '').split(delimiter)) !== undefined;
    const compiled = [...(inDocker || onHost('g++') ? [CPP_CASE] : []), ...(inDocker || onHost('go') ? [GO_CASE] : [])];
    const cases: DemoCase[] = [...CORE_CASES, ...compiled, ...(inDocker ? DOCKER_CASES : [])];
    for (const c of cases) {
      let line: string;
      try {
        const id = await client.deploy(examples, c);
        const { job, ms } = await client.run(id, c);
        const wrong = c.check(job);
        for (const link of job.output_files ?? []) await client.download(link);
        const shown =
          job.status === 'completed' ? JSON.stringify(job.result) : `${job.error?.code}: ${job.error?.message ?? ''}`;
        const files = (job.output_files ?? []).length
          ? ` [+${(job.output_files ?? []).length} output file(s), downloaded]`
          : '';
        line = `${pad(c.title, 30)} ${pad(c.runtime, 11)} ${pad(c.mode, 5)} ${pad(job.status, 9)} ${ms.toFixed(0).padStart(6)}  ${cut(shown.replace(/\s+/g, ' '), 60)}${files}`;
        if (wrong) {
          failures++;
          line += `\n  !! ${wrong}`;
        }
      } catch (err) {
        failures++;
        line = `${pad(c.title, 30)} ${pad(c.runtime, 11)} ${pad(c.mode, 5)} ERROR     ${(err as Error).message}`;
      }
      out(line);
    }
    out('');
    out(
      failures === 0
        ? `all ${cases.length} examples behaved as expected`
        : `${failures} of ${cases.length} examples did not behave as expected`,
    );
  } finally {
    await host.close();
    await ai?.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  return failures === 0 ? 0 : 1;
}

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '../../..');
const cli = join(repo, 'packages/host/dist/cli.js');

/** dist/cli.js is what users run: build it and the `packages` a config imports (incremental, quick when up to date). */
export async function buildCli(packages: string[] = []): Promise<void> {
  const projects = ['packages/host', ...packages.map((p) => `packages/${p}`)];
  await promisify(execFile)(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-b', ...projects], {
    cwd: repo,
  });
}

/** The built entry of a workspace package, for config files written by tests. */
export function distOf(pkg: string): string {
  return JSON.stringify(join(repo, 'packages', pkg, 'dist/index.js'));
}

/** A real `nanogrid start` process. */
export interface HostProcess {
  url: string;
  child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Sends `signal` and resolves when the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface HostProcessOptions {
  /** Extra flags of `nanogrid start` (`--role worker` …). */
  args?: string[];
  /** Added to the environment. */
  env?: NodeJS.ProcessEnv;
}

/** Starts `nanogrid start --port 0` in `cwd` (its config file is found there); resolves once it listens. */
export function startHostProcess(cwd: string, opts: HostProcessOptions = {}): Promise<HostProcess> {
  const child = spawn(process.execPath, [cli, 'start', '--port', '0', ...(opts.args ?? [])], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  const stop = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return new Promise((resolveHost, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no "listening" line within 60 s; stderr:\n${err}`));
    }, 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /nanogrid listening on (http:\/\/\S+) role=/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolveHost({ url: m[1], child, stderr: () => err, stop });
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`host exited early (${code ?? signal}); stderr:\n${err}`));
    });
  });
}

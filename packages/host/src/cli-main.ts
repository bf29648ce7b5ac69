import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Role, isNanoGridError } from '@nanogrid/core';
import { isNanoGridApiError } from '@nanogrid/client';
import { CLIENT_COMMANDS, CLIENT_USAGE } from './cli/client-commands.js';
import type { CliIo } from './cli/client-context.js';
import { exitCodeOf } from './cli/exit-codes.js';
import { PackError } from './cli/pack-dir.js';
import { UsageError } from './cli/usage-error.js';
import { startProcesses } from './processes.js';

export const USAGE = `Usage: nanogrid <command> [options]

Commands:
  start                  Run NanoGrid: controller (HTTP API), worker, or both
    --role <role>        all | controller | worker   (default: config role, else all)
    --config <file>      config file (default: nanogrid.config.{ts,mts,mjs,js,json} in cwd)
    --port <n>           HTTP port; 0 picks a free one (default: config port, else 8080)
    --host <addr>        address to bind (default: config hostname, else 0.0.0.0)
    --processes <n|auto> host processes behind the one port; more than 1 needs shared
                         backends such as Redis (default: config processes, else 1)
  images build           Build the runtime images offline (scripts/build-images.sh)
    --force              rebuild images that already exist
    --only <keys>        a selection, e.g. python,node
    --list               print the known images and exit
  demo                   Start an all-in-one host, deploy the examples, print results
  help                   Show this help

${CLIENT_USAGE}
Options:
  -h, --help             Show this help
  -v, --version          Print the version
`;

export { UsageError };
export type { CliIo };

const defaultIo: CliIo = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
  // One rewritten status line on a terminal (deploy progress); nothing when stderr is a file or pipe.
  ...(process.stderr.isTTY ? { status: (t: string) => void process.stderr.write(`\r\x1b[2K${t}`) } : {}),
};

const ROLES: readonly Role[] = ['all', 'controller', 'worker'];

/** node:util parseArgs errors (unknown flag, missing value) are usage errors. */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function noPositionals(command: string, positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" for "${command}"`);
}

async function start(args: string[], io: CliIo): Promise<number | undefined> {
  const { values, positionals } = usage(() =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        role: { type: 'string' },
        config: { type: 'string', short: 'c' },
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        processes: { type: 'string' },
      },
    }),
  );
  noPositionals('start', positionals);
  let processes: number | 'auto' | undefined;
  if (values.processes !== undefined) {
    processes = values.processes === 'auto' ? 'auto' : Number(values.processes);
    if (processes !== 'auto' && (!/^\d+$/.test(values.processes) || processes < 1 || processes > 1024))
      throw new UsageError(`--processes must be "auto" or an integer 1..1024, got "${values.processes}"`);
  }
  if (values.role !== undefined && !ROLES.includes(values.role as Role)) {
    throw new UsageError(`--role must be one of ${ROLES.join(', ')}, got "${values.role}"`);
  }
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65_535)
      throw new UsageError(`--port must be an integer 0..65535, got "${values.port}"`);
  }
  const host = await startProcesses({
    ...(values.role ? { role: values.role as Role } : {}),
    ...(values.config ? { configPath: values.config } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(values.host ? { hostname: values.host } : {}),
    ...(processes !== undefined ? { processes } : {}),
  });
  // One stable line on stdout: scripts and the end-to-end test read the URL from it.
  io.out(
    `nanogrid listening on ${host.url} role=${host.role}${host.processes > 1 ? ` processes=${host.processes}` : ''}`,
  );
  if (host.dashboardUrl) io.out(`dashboard: ${host.dashboardUrl}`);
  return undefined; // keeps running until SIGTERM / SIGINT
}

async function images(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'build')
    throw new UsageError(
      sub ? `unknown images command "${sub}" (try "images build")` : 'missing images command (try "images build")',
    );
  const { values, positionals } = usage(() =>
    parseArgs({
      args: rest,
      strict: true,
      allowPositionals: true,
      options: { force: { type: 'boolean', short: 'f' }, only: { type: 'string' }, list: { type: 'boolean' } },
    }),
  );
  noPositionals('images build', positionals);
  // The script lives in the repository: <repo>/scripts, three levels above dist/ (and src/).
  const script = fileURLToPath(new URL('../../../scripts/build-images.sh', import.meta.url));
  if (!existsSync(script)) throw new Error(`${script} not found: "images build" runs from a NanoGrid checkout`);
  const argv = [
    script,
    ...(values.force ? ['--force'] : []),
    ...(values.only ? ['--only', values.only] : []),
    ...(values.list ? ['--list'] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('bash', argv, { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function demo(args: string[]): Promise<number> {
  // demo.ts is optional in a build; load it only when present.
  const file = new URL('./demo.js', import.meta.url);
  if (!existsSync(fileURLToPath(file))) throw new Error('the demo is not part of this build');
  const mod = (await import(pathToFileURL(fileURLToPath(file)).href)) as {
    runDemo(argv: string[]): Promise<number | undefined>;
  };
  return (await mod.runDemo(args)) ?? 0;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Runs one `nanogrid` command. Resolves with the exit status, or undefined when
 * the command keeps the process running (start).
 */
export async function runCli(
  argv: string[],
  io: CliIo = defaultIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number | undefined> {
  const [command, ...rest] = argv;
  if (command && !command.startsWith('-') && rest.some((a) => a === '-h' || a === '--help')) {
    io.out(USAGE);
    return 0;
  }
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '-h':
      case '--help':
        io.out(USAGE);
        return 0;
      case '-v':
      case '--version':
        io.out(version());
        return 0;
      case 'start':
        return await start(rest, io);
      case 'images':
        return await images(rest);
      case 'demo':
        return await demo(rest);
      default: {
        const client = CLIENT_COMMANDS[command];
        if (client) return await client(rest, io, env);
        throw new UsageError(command.startsWith('-') ? `unknown option "${command}"` : `unknown command "${command}"`);
      }
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`nanogrid: ${err.message}`);
      io.err('Run "nanogrid --help" for usage.');
      return 2;
    }
    if (isNanoGridApiError(err)) {
      io.err(`nanogrid: ${err.code}${err.field ? ` (${err.field})` : ''}: ${err.message}`);
      // The API's message names the header; a CLI user needs the flag.
      if (err.code === 'UNAUTHORIZED') io.err('Pass the key with --api-key <key> or set NANOGRID_API_KEY.');
      return exitCodeOf(err);
    }
    if (err instanceof PackError) {
      io.err(`nanogrid: ${err.message}`);
      return 1;
    }
    io.err(isNanoGridError(err) ? `nanogrid: ${err.code}: ${err.message}` : `nanogrid: ${(err as Error).message}`);
    return 1;
  }
}

import { readFile, stat } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import type { DeployInput, NetworkPolicy } from '@nanogrid/client';
import { type CliIo, type ParsedCommand, parseCommand, positiveInt } from './client-context.js';
import { readDeployDefaults } from './deploy-defaults.js';
import { detectRuntime } from './detect-runtime.js';
import { EXIT } from './exit-codes.js';
import { bytes, seconds } from './format.js';
import { PackError, packDir } from './pack-dir.js';
import { UsageError } from './usage-error.js';

const OPTIONS = {
  name: { type: 'string', short: 'n' },
  runtime: { type: 'string', short: 'r' },
  handler: { type: 'string' },
  timeout: { type: 'string' },
  memory: { type: 'string' },
  disk: { type: 'string' },
  public: { type: 'boolean' },
  env: { type: 'string', short: 'e', multiple: true },
  network: { type: 'string' },
  'max-concurrency': { type: 'string' },
  'callback-url': { type: 'string' },
  'callback-format': { type: 'string' },
} as const;

const NETWORKS: readonly NetworkPolicy[] = ['none', 'ai', 'internet'];

function envPairs(pairs: string[], base: Record<string, string>): Record<string, string> {
  const env = { ...base };
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UsageError(`--env takes KEY=VALUE, got "${p}"`);
    env[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return env;
}

/** `--callback-url` / `--callback-format` of deploy and invoke, as the client takes them. */
export function callbackOptions(v: ParsedCommand['values']): Pick<DeployInput, 'callbackUrl' | 'callbackFormat'> {
  const url = v['callback-url'] as string | undefined;
  const format = v['callback-format'] as string | undefined;
  if (format !== undefined && format !== 'json' && format !== 'slack')
    throw new UsageError(`--callback-format must be json or slack, got "${format}"`);
  return {
    ...(url !== undefined ? { callbackUrl: url } : {}),
    ...(format !== undefined ? { callbackFormat: format } : {}),
  };
}

/** A function name from a file or directory name: what the server accepts (letters, digits, _ . -). */
function nameFrom(path: string): string {
  return (
    basename(path, extname(path))
      .replace(/[^A-Za-z0-9_.-]/g, '-')
      .replace(/^[.-]+/, '') || 'function'
  );
}

/** What `deploy <path>` uploads: one source file or zip as is, a directory zipped with its nanogrid.json defaults. */
async function gather(target: string, v: ParsedCommand['values'], io: CliIo): Promise<DeployInput> {
  const path = resolve(target);
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new PackError(`${target}: no such file or directory`);
  const defaults = st.isDirectory() ? await readDeployDefaults(path) : {};
  let code: Buffer;
  let fileName: string;
  let runtime = (v['runtime'] as string | undefined) ?? defaults.runtime;
  if (st.isDirectory()) {
    const packed = await packDir(path);
    if (packed.skippedLinks.length) io.err(`note: symbolic links are not deployed: ${packed.skippedLinks.join(', ')}`);
    runtime ??= detectRuntime(target, packed.files);
    code = packed.zip;
    fileName = 'code.zip';
  } else {
    code = await readFile(path);
    fileName = basename(path);
    runtime ??= detectRuntime(target, [fileName]);
  }
  const network = (v['network'] as string | undefined) ?? defaults.network;
  if (network !== undefined && !NETWORKS.includes(network as NetworkPolicy))
    throw new UsageError(`--network must be one of ${NETWORKS.join(', ')}, got "${network}"`);
  const timeout = positiveInt('--timeout', v['timeout'] as string | undefined) ?? defaults.timeout;
  const memoryMb = positiveInt('--memory', v['memory'] as string | undefined) ?? defaults.memory;
  const diskMb = positiveInt('--disk', v['disk'] as string | undefined) ?? defaults.disk;
  const isPublic = (v['public'] as boolean | undefined) ?? defaults.public;
  const maxConcurrency =
    positiveInt('--max-concurrency', v['max-concurrency'] as string | undefined) ?? defaults.max_concurrency;
  const envFlags = (v['env'] as string[] | undefined) ?? [];
  const handler = (v['handler'] as string | undefined) ?? defaults.handler;
  const callback = callbackOptions(v);
  return {
    ...callback,
    name: (v['name'] as string | undefined) ?? defaults.name ?? nameFrom(path),
    runtime,
    code,
    fileName,
    ...(handler !== undefined ? { handler } : {}),
    ...(timeout !== undefined ? { timeout } : {}),
    ...(memoryMb !== undefined ? { memoryMb } : {}),
    ...(diskMb !== undefined ? { diskMb } : {}),
    ...(isPublic !== undefined ? { public: isPublic } : {}),
    ...(maxConcurrency !== undefined ? { maxConcurrency } : {}),
    ...(network !== undefined ? { network: network as NetworkPolicy } : {}),
    ...(envFlags.length || defaults.env ? { env: envPairs(envFlags, defaults.env ?? {}) } : {}),
  };
}

/** `nanogrid deploy <file|dir>`: uploads, shows progress while the host stores and builds, prints name, version, id. */
export async function deployCommand(args: string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  const { ctx, values, positionals } = parseCommand('deploy', args, OPTIONS, io, env, {
    min: 1,
    max: 1,
    names: 'a file or directory',
  });
  const input = await gather(positionals[0] as string, values, io);
  const size = input.code instanceof Uint8Array ? input.code.byteLength : 0;
  const started = Date.now();
  const label = `deploying ${input.name} (${input.runtime}, ${bytes(size)}) to ${ctx.client.url}`;
  let ticker: ReturnType<typeof setInterval> | undefined;
  if (io.status) {
    // Compiles and dependency installs run inside the upload request: show that time passing.
    const tick = () =>
      io.status?.(`${label}: uploading, checking and building… ${Math.round((Date.now() - started) / 1000)} s`);
    tick();
    ticker = setInterval(tick, 1000);
  } else if (!ctx.json) io.err(`${label}…`);
  try {
    const fn = await ctx.client.deploy(input);
    if (ctx.json) io.out(JSON.stringify(fn, null, 2));
    else {
      io.status?.('');
      io.out(
        `deployed ${fn.function_name} version ${fn.version} (id ${fn.function_id}) in ${seconds(Date.now() - started)}`,
      );
      io.out(`run it: nanogrid invoke ${fn.function_name} --data '{}'`);
    }
    return EXIT.OK;
  } finally {
    if (ticker) clearInterval(ticker);
    io.status?.('');
  }
}

import { type ParseArgsConfig, parseArgs } from 'node:util';
import { NanoGridClient } from '@nanogrid/client';
import { UsageError } from './usage-error.js';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Progress on a terminal: rewrites one status line (stderr). Absent when stderr is not a TTY. */
  status?: (text: string) => void;
}

/** Options every client command takes. */
export const COMMON_OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

export interface ClientContext {
  client: NanoGridClient;
  io: CliIo;
  /** `--json`: machine output on stdout. */
  json: boolean;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses a client command's arguments (strict: an unknown flag is a usage error) and builds its client. */
export interface ParsedCommand {
  ctx: ClientContext;
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseCommand(
  command: string,
  args: string[],
  options: Options,
  io: CliIo,
  env: NodeJS.ProcessEnv,
  positionals: { min: number; max: number; names: string },
): ParsedCommand {
  let parsed: { values: ParsedCommand['values']; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: { ...options, ...COMMON_OPTIONS }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message}`);
  }
  const n = parsed.positionals.length;
  if (n < positionals.min) throw new UsageError(`${command} needs ${positionals.names}`);
  if (n > positionals.max)
    throw new UsageError(`unexpected argument "${parsed.positionals[positionals.max]}" for "${command}"`);
  const v = parsed.values;
  const url = (v['url'] as string | undefined) ?? env['NANOGRID_URL'] ?? 'http://localhost:8080';
  if (!/^https?:\/\/[^/]/.test(url)) throw new UsageError(`--url must be an http(s) URL, got "${url}"`);
  const apiKey = (v['api-key'] as string | undefined) ?? env['NANOGRID_API_KEY'];
  const ctx: ClientContext = {
    client: new NanoGridClient({ url, ...(apiKey ? { apiKey } : {}) }),
    io,
    json: v['json'] === true,
  };
  return { ctx, values: parsed.values, positionals: parsed.positionals };
}

/** A whole number ≥ 1 from a flag, or a usage error naming it. */
export function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`${flag} must be a whole number ≥ 1, got "${value}"`);
  return Number(value);
}

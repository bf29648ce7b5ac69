import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NetworkPolicy } from '@nanogrid/client';
import { UsageError } from './usage-error.js';

/** The optional `nanogrid.json` of a function directory: defaults of `nanogrid deploy` (flags win). */
export interface DeployDefaults {
  name?: string;
  runtime?: string;
  handler?: string;
  /** Seconds. */
  timeout?: number;
  memory?: number;
  /** MiB of /tmp and /output. */
  disk?: number;
  /** Its HTTP endpoint answers without an API key. */
  public?: boolean;
  network?: NetworkPolicy;
  env?: Record<string, string>;
  max_concurrency?: number;
}

const FIELDS: Record<keyof DeployDefaults, 'string' | 'number' | 'boolean' | 'object'> = {
  name: 'string',
  runtime: 'string',
  handler: 'string',
  timeout: 'number',
  memory: 'number',
  disk: 'number',
  public: 'boolean',
  network: 'string',
  env: 'object',
  max_concurrency: 'number',
};

/** Reads `dir/nanogrid.json` when there is one; a wrong field is a usage error naming it. */
export async function readDeployDefaults(dir: string): Promise<DeployDefaults> {
  const file = join(dir, 'nanogrid.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new UsageError(`${file} must hold a JSON object`);
  for (const [k, v] of Object.entries(parsed)) {
    const want = FIELDS[k as keyof DeployDefaults];
    if (!want) throw new UsageError(`${file}: unknown field "${k}" (known: ${Object.keys(FIELDS).join(', ')})`);
    const ok =
      want === 'object'
        ? typeof v === 'object' &&
          v !== null &&
          !Array.isArray(v) &&
          Object.values(v).every((x) => typeof x === 'string')
        : typeof v === want;
    if (!ok)
      throw new UsageError(`${file}: "${k}" must be ${want === 'object' ? 'an object of strings' : `a ${want}`}`);
  }
  return parsed as DeployDefaults;
}

/** Which network a function's sandbox may reach. */
export type NetworkPolicy = 'none' | 'ai' | 'internet';

export const NETWORK_POLICIES: readonly NetworkPolicy[] = ['none', 'ai', 'internet'];

/**
 * Metadata of one version of a function, stored as
 * `functions/{id}/versions/{n}/meta.json` beside its `code.zip`. Versions are
 * immutable: a deploy of an existing name writes version n+1.
 */
export interface FunctionMeta {
  /** Stays the same across versions: derived from the name (see `functionIdOf`). */
  function_id: string;
  function_name: string;
  /** 1 for the first deploy of a name, then n+1 for each deploy. */
  version: number;
  /** Runtime id as given at upload (`python3.9`, `nodejs18.x` …). */
  runtime: string;
  /** Name of the RuntimePlugin that serves it. */
  runtime_plugin: string;
  /** `module.function` (Python / Node); informative for C++ / Go. */
  handler: string;
  /** Source file (relative to the code root) that holds the handler. */
  entry_file: string;
  /** Seconds. */
  timeout: number;
  memory_mb: number;
  /** Space of a run's /tmp and /output together, MiB; absent in metadata older than the quota: `limits.defaultDiskMb`. */
  disk_mb?: number;
  network: NetworkPolicy;
  env: Record<string, string>;
  /** Jobs of this function run at once on one worker (more wait their turn); absent: `worker.functionConcurrency`. */
  max_concurrency?: number;
  /** `/fn/{name}/…` answers without an API key. Absent: keys apply as everywhere. */
  public?: true;
  /** API Gateway payload format of `/fn/{name}/…` events. Absent: REST proxy (1.0). */
  http_event?: '2.0';
  /** Default `callback_url` of its jobs (a /run body may name another). */
  callback_url?: string;
  /** Format of that default callback. Absent: `json`. */
  callback_format?: 'json' | 'slack';
  /** `functions/{id}/versions/{n}/code.zip`. */
  s3_key: string;
  /** sha256 of code.zip: code version, cache key of extracted code and builds. */
  code_sha256: string;
  code_size: number;
  created_at: string;
}

/** Everything stored for one function (all versions, claims and aliases). */
export function functionPrefix(functionId: string): string {
  return `functions/${functionId}/`;
}

export function versionsPrefix(functionId: string): string {
  return `functions/${functionId}/versions/`;
}

export function codeKey(functionId: string, version: number): string {
  return `functions/${functionId}/versions/${version}/code.zip`;
}

/** Written last by a deploy: a version exists once its meta.json does. */
export function metaKey(functionId: string, version: number): string {
  return `functions/${functionId}/versions/${version}/meta.json`;
}

/** Deploys racing for version n each write one claim here; see FunctionStore.claimVersion. */
export function claimsPrefix(functionId: string, version: number): string {
  return `functions/${functionId}/versions/${version}/claims/`;
}

export function aliasKey(functionId: string, alias: string): string {
  return `functions/${functionId}/aliases/${alias}.json`;
}

export function outputKey(jobId: string, path: string): string {
  return `outputs/${jobId}/${path}`;
}

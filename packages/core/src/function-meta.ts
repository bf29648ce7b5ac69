/** Which network a function's sandbox may reach. */
export type NetworkPolicy = 'none' | 'ai' | 'internet';

export const NETWORK_POLICIES: readonly NetworkPolicy[] = ['none', 'ai', 'internet'];

/** Function metadata, stored as `functions/{id}/meta.json` beside `functions/{id}/code.zip`. */
export interface FunctionMeta {
  function_id: string;
  function_name: string;
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
  network: NetworkPolicy;
  env: Record<string, string>;
  /** Jobs of this function run at once on one worker (more wait their turn); absent: `worker.functionConcurrency`. */
  max_concurrency?: number;
  /** `functions/{id}/code.zip`. */
  s3_key: string;
  /** sha256 of code.zip: code version, cache key of extracted code and builds. */
  code_sha256: string;
  code_size: number;
  created_at: string;
}

export function codeKey(functionId: string): string {
  return `functions/${functionId}/code.zip`;
}

export function metaKey(functionId: string): string {
  return `functions/${functionId}/meta.json`;
}

export function outputKey(jobId: string, path: string): string {
  return `outputs/${jobId}/${path}`;
}

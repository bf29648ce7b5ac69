import type { FunctionInfo, Job } from '@nanogrid/client';
import { type FunctionMeta, type JobRecord, redactCallbackUrl } from '@nanogrid/core';

/** What the API shows of a function: everything but env values and a callback's path, which may be secrets. */
export type FunctionView = Omit<FunctionMeta, 'env'> & { env_keys: string[] };

// The API's shapes are the client's types: a field the client does not know fails to compile here.
export function functionView(meta: FunctionMeta): FunctionView & FunctionInfo {
  const { env, callback_url, ...rest } = meta;
  return {
    ...rest,
    ...(callback_url ? { callback_url: redactCallbackUrl(callback_url) } : {}),
    env_keys: Object.keys(env ?? {}).sort(),
  };
}

/**
 * A job as `GET /status` and `POST /run` show it; `result` is always present once completed.
 * The payload is shown only where one job is read (`withPayload`): `/run` answers its own caller,
 * and lists and event streams stay small.
 */
export function jobView(r: JobRecord, { withPayload = false }: { withPayload?: boolean } = {}): Job {
  return {
    job_id: r.job_id,
    function_id: r.function_id,
    ...(r.function_name !== undefined ? { function_name: r.function_name } : {}),
    ...(r.function_version !== undefined ? { function_version: r.function_version } : {}),
    status: r.status,
    ...(withPayload && r.payload !== undefined ? { payload: r.payload } : {}),
    ...(withPayload && r.payload_bytes !== undefined ? { payload_bytes: r.payload_bytes } : {}),
    ...(r.status === 'completed' ? { result: r.result ?? null } : r.result !== undefined ? { result: r.result } : {}),
    ...(r.error ? { error: r.error } : {}),
    output_files: r.output_files ?? [],
    ...(r.execution_time_ms !== undefined ? { execution_time_ms: r.execution_time_ms } : {}),
    ...(r.logs !== undefined ? { logs: r.logs } : {}),
    created_at: r.created_at,
    updated_at: r.updated_at,
    ...(r.started_at ? { started_at: r.started_at } : {}),
    ...(r.finished_at ? { finished_at: r.finished_at } : {}),
    ...(r.attempts !== undefined ? { attempts: r.attempts } : {}),
    ...(r.peak_memory_bytes !== undefined ? { peak_memory_bytes: r.peak_memory_bytes } : {}),
    ...(r.worker ? { worker: r.worker } : {}),
    ...(r.start ? { start: r.start } : {}),
    ...(r.trigger ? { trigger: r.trigger } : {}),
    ...(r.callback_url ? { callback_url: redactCallbackUrl(r.callback_url) } : {}),
    ...(r.callback_format ? { callback_format: r.callback_format } : {}),
  };
}

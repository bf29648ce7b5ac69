import type {
  CallbackFormat,
  AliasDeleted,
  AliasSet,
  ErrorBody,
  FunctionAliases,
  FunctionDeleted,
  FunctionInfo,
  FunctionList,
  FunctionStats,
  FunctionVersions,
  Health,
  Job,
  JobList,
  JobListQuery,
  JobLogs,
  LogStreamEvent,
  JobSubmitted,
  StatsQuery,
  StatsSummary,
  SystemInfo,
} from './api-types.js';
import { NanoGridApiError } from './client-error.js';
import { type DeployInput, deployForm } from './deploy-form.js';
import { readEventStream } from './event-stream.js';

export interface NanoGridClientOptions {
  /** Base URL of a controller. @default 'http://localhost:8080' */
  url?: string;
  /** Sent as `Authorization: Bearer <key>` when set. */
  apiKey?: string;
  /** The fetch to use (a custom agent, a test double). @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
}

export interface RequestOptions {
  body?: BodyInit;
  /** Serialised as JSON (and sent with its content type). */
  json?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Statuses answered with a body of type T rather than an error (a failed job's 500 is a job). */
  accept?: (status: number, body: unknown) => boolean;
  /** A successful answer is returned as the Response itself, its body unread (event streams). */
  raw?: boolean;
}

export interface WaitOptions {
  /** Poll interval. @default 500 */
  intervalMs?: number;
  /** Give up (WAIT_TIMEOUT) after this long; the job runs on. @default no limit */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called with every record seen while polling. */
  onUpdate?: (job: Job) => void;
}

/** What `run()` and `submit()` may add to a run. */
export interface RunOptions {
  signal?: AbortSignal;
  /** Receives the final job record when the job ends (default: the function's, if deployed with one). */
  callbackUrl?: string;
  /** @default 'json' */
  callbackFormat?: CallbackFormat;
}

function runBody(fn: string, payload: unknown, opts: RunOptions): Record<string, unknown> {
  return {
    function: fn,
    payload,
    ...(opts.callbackUrl !== undefined ? { callback_url: opts.callbackUrl } : {}),
    ...(opts.callbackFormat !== undefined ? { callback_format: opts.callbackFormat } : {}),
  };
}

const isJob = (_status: number, body: unknown): boolean =>
  typeof body === 'object' && body !== null && 'job_id' in body;
const enc = encodeURIComponent;

/**
 * A typed client of every NanoGrid route. Request errors throw NanoGridApiError
 * with the server's code; a job that ran and failed is a Job with status
 * `failed`, not an exception.
 */
export class NanoGridClient {
  readonly url: string;
  private readonly fetchFn: typeof fetch;
  private readonly headers: Record<string, string>;

  constructor(opts: NanoGridClientOptions = {}) {
    this.url = (opts.url ?? 'http://localhost:8080').replace(/\/+$/, '');
    this.fetchFn = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.headers = { ...opts.headers, ...(opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {}) };
  }

  /** Any route: `path` is appended to the base URL. Adding a route is one method over this. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { ...this.headers, ...opts.headers };
    let body = opts.body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    }
    let res: Response;
    try {
      res = await this.fetchFn(`${this.url}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const why = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new NanoGridApiError(
        'UNREACHABLE',
        `cannot reach ${this.url}: ${why?.code ?? why?.message ?? (err as Error).message}`,
        { cause: err },
      );
    }
    const type = res.headers.get('content-type') ?? '';
    if (opts.raw && res.ok) return res as T;
    const text = await res.text();
    if (!type.includes('json')) {
      if (res.ok) return text as T;
      throw new NanoGridApiError(
        'BAD_RESPONSE',
        `${method} ${path} answered ${res.status} with ${type || 'no content type'}: ${text.slice(0, 200)}`,
        { status: res.status },
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new NanoGridApiError('BAD_RESPONSE', `${method} ${path} answered ${res.status} with invalid JSON`, {
        status: res.status,
      });
    }
    if (res.ok || opts.accept?.(res.status, parsed)) return parsed as T;
    const e = (parsed as Partial<ErrorBody>).error;
    if (!e || typeof e.code !== 'string') {
      throw new NanoGridApiError('BAD_RESPONSE', `${method} ${path} answered ${res.status} without an error body`, {
        status: res.status,
      });
    }
    throw new NanoGridApiError(e.code, e.message, {
      status: res.status,
      ...(e.field ? { field: e.field } : {}),
      ...(e.details ? { details: e.details } : {}),
    });
  }

  health(): Promise<Health> {
    return this.request('GET', '/health');
  }

  /** Uploads code: a new function, or the next version of an existing name. */
  deploy(input: DeployInput, opts: { signal?: AbortSignal } = {}): Promise<FunctionInfo> {
    return this.request('POST', '/upload', { body: deployForm(input), ...opts });
  }

  /**
   * Runs a function and waits for its final record (`function`: a name, id,
   * `name:3` or `name:alias`). A long queue or a host shutting down answers
   * with the job still pending or running: `wait()` it. Node's built-in fetch
   * waits at most 300 s for an answer: for longer functions use `submit()`
   * and `wait()` (or pass a `fetch` with a longer headers timeout).
   */
  run(fn: string, payload: unknown = {}, opts: RunOptions = {}): Promise<Job> {
    const { callbackUrl: _u, callbackFormat: _f, ...rest } = opts;
    return this.request('POST', '/run', { json: runBody(fn, payload, opts), accept: isJob, ...rest });
  }

  /** Queues a run and returns at once (`X-Async: true`); poll with `status()` or `wait()`. */
  submit(fn: string, payload: unknown = {}, opts: RunOptions = {}): Promise<JobSubmitted> {
    const { callbackUrl: _u, callbackFormat: _f, ...rest } = opts;
    return this.request('POST', '/run', {
      json: runBody(fn, payload, opts),
      headers: { 'x-async': 'true' },
      ...rest,
    });
  }

  status(jobId: string, opts: { signal?: AbortSignal } = {}): Promise<Job> {
    return this.request('GET', `/status/${enc(jobId)}`, opts);
  }

  /** Cancels a pending or running job (it ends `cancelled`); a job already final is a CONFLICT error. */
  cancel(jobId: string, opts: { signal?: AbortSignal } = {}): Promise<Job> {
    return this.request('POST', `/jobs/${enc(jobId)}/cancel`, opts);
  }

  /** A page of recent jobs, newest first; pass the page's `next_cursor` as `cursor` for the next one. */
  listJobs(query: JobListQuery = {}, opts: { signal?: AbortSignal } = {}): Promise<JobList> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return this.request('GET', `/jobs${qs ? `?${qs}` : ''}`, opts);
  }

  /** A job's stored logs (the tail of what it printed; '' while it runs: see `followLogs`). */
  logs(jobId: string, opts: { signal?: AbortSignal } = {}): Promise<JobLogs> {
    return this.request('GET', `/jobs/${enc(jobId)}/logs`, opts);
  }

  /**
   * A job's lines as it prints them, then one `end` event with its final status
   * (a job already final: its stored logs, then `end`). The iteration ends after
   * `end`; breaking out of it, or `signal`, closes the stream.
   */
  async *followLogs(jobId: string, opts: { signal?: AbortSignal } = {}): AsyncGenerator<LogStreamEvent> {
    for await (const e of this.events(`/jobs/${enc(jobId)}/logs?follow=1`, opts.signal)) {
      if (e.event !== 'log' && e.event !== 'end') continue;
      yield { type: e.event, ...JSON.parse(e.data) } as LogStreamEvent;
      if (e.event === 'end') return;
    }
  }

  /**
   * Status changes of jobs as they happen (created, running, final), filtered
   * like `listJobs` by function and status. Runs until `signal` aborts or the loop breaks.
   */
  async *followJobs(
    query: Pick<JobListQuery, 'function' | 'status'> = {},
    opts: { signal?: AbortSignal } = {},
  ): AsyncGenerator<Job> {
    const params = new URLSearchParams({ follow: '1' });
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    for await (const e of this.events(`/jobs?${params}`, opts.signal))
      if (e.event === 'job') yield JSON.parse(e.data) as Job;
  }

  /** Opens an event stream (errors before it starts are thrown as for any request). */
  private async *events(path: string, signal?: AbortSignal): AsyncGenerator<{ event: string; data: string }> {
    const ac = new AbortController();
    const stop = () => ac.abort(signal?.reason);
    if (signal?.aborted) stop();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      const res = await this.request<Response>('GET', path, {
        signal: ac.signal,
        headers: { accept: 'text/event-stream' },
        raw: true,
      });
      if (!res.body) return;
      yield* readEventStream(res.body);
    } finally {
      signal?.removeEventListener('abort', stop);
      ac.abort(); // the connection closes: the host releases its subscription
    }
  }

  /** Polls a job until it is final (completed, failed or cancelled). */
  async wait(jobId: string, opts: WaitOptions = {}): Promise<Job> {
    const started = Date.now();
    const interval = opts.intervalMs ?? 500;
    for (;;) {
      const job = await this.status(jobId, opts.signal ? { signal: opts.signal } : {});
      opts.onUpdate?.(job);
      if (job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled') return job;
      if (opts.timeoutMs !== undefined && Date.now() - started + interval > opts.timeoutMs) {
        throw new NanoGridApiError('WAIT_TIMEOUT', `job ${jobId} is still ${job.status} after ${opts.timeoutMs} ms`, {
          details: { job_id: jobId },
        });
      }
      await sleep(interval, opts.signal);
    }
  }

  async listFunctions(): Promise<FunctionInfo[]> {
    return (await this.request<FunctionList>('GET', '/functions')).functions;
  }

  getFunction(ref: string): Promise<FunctionInfo> {
    return this.request('GET', `/functions/${enc(ref)}`);
  }

  /** `name` deletes the function; `name:3` deletes one version. */
  deleteFunction(ref: string): Promise<FunctionDeleted> {
    return this.request('DELETE', `/functions/${enc(ref)}`);
  }

  versions(ref: string): Promise<FunctionVersions> {
    return this.request('GET', `/functions/${enc(ref)}/versions`);
  }

  aliases(ref: string): Promise<FunctionAliases> {
    return this.request('GET', `/functions/${enc(ref)}/aliases`);
  }

  setAlias(ref: string, alias: string, version: number): Promise<AliasSet> {
    return this.request('PUT', `/functions/${enc(ref)}/aliases/${enc(alias)}`, { json: { version } });
  }

  deleteAlias(ref: string, alias: string): Promise<AliasDeleted> {
    return this.request('DELETE', `/functions/${enc(ref)}/aliases/${enc(alias)}`);
  }

  /** A function's invocations, errors, p50/p95, cold/warm starts and peak memory over time (every version). */
  functionStats(ref: string, query: StatsQuery = {}): Promise<FunctionStats> {
    return this.request('GET', `/functions/${enc(ref)}/stats${queryString(query)}`);
  }

  /** Invocations and errors of every function over a window (default 1 h). */
  statsSummary(query: Pick<StatsQuery, 'window'> = {}): Promise<StatsSummary> {
    return this.request('GET', `/stats/functions${queryString(query)}`);
  }

  /** Controllers and workers seen, queue depth, desired workers, sandbox, backends and their health. */
  system(): Promise<SystemInfo> {
    return this.request('GET', '/system');
  }

  /** Prometheus text. */
  metrics(): Promise<string> {
    return this.request('GET', '/metrics');
  }

  /** The OpenAPI document of the host. */
  openapi(): Promise<Record<string, unknown>> {
    return this.request('GET', '/openapi.json');
  }
}

function queryString(query: object): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const qs = params.toString();
  return qs ? `?${qs}` : '';
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

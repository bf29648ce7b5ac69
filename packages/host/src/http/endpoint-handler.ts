import { type FunctionRegistry, type JobService, NanoGridError, isNanoGridError } from '@nanogrid/core';
import type { Context, MiddlewareHandler } from 'hono';
import { errorBody } from './error-response.js';
import { toProxyEvent } from './proxy-event.js';
import { fromProxyResult } from './proxy-response.js';
import { readBodyBytes } from './read-body.js';
import { requestWaits } from './wait-signal.js';

export interface EndpointHandlerOptions {
  registry: Pick<FunctionRegistry, 'get'>;
  jobs: Pick<JobService, 'submit' | 'wait'>;
  /** The API-key check the rest of the API uses; skipped for functions deployed public. */
  auth: MiddlewareHandler;
  /** Largest request body, bytes. */
  bodyLimit: number;
  syncMarginMs: number;
  accountId: string;
  clientIp: (c: Context) => string;
  shutdownSignal?: AbortSignal;
}

/**
 * A function's page runs in an opaque origin: it shares the host name with the
 * dashboard and the API, and must not read the dashboard's session (its API key),
 * open the dashboard and read what is typed there, or read other functions' cookies.
 * Scripts, forms and pop-ups still work; a page that calls its own endpoint
 * with fetch needs `Access-Control-Allow-Origin` (its origin is `null`).
 */
export const FUNCTION_PAGE_CSP = 'sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads';

/** `/fn/{function}/{path…}` → the function reference and the path below it. */
function splitPath(path: string): { ref: string; proxyPath: string } {
  const rest = path.replace(/^\/fn\//, '');
  const slash = rest.indexOf('/');
  const raw = slash < 0 ? rest : rest.slice(0, slash);
  let ref: string;
  try {
    ref = decodeURIComponent(raw);
  } catch {
    throw new NanoGridError(
      'BAD_REQUEST',
      `the function name in /fn/${raw.slice(0, 100)} is not valid percent-encoding`,
    );
  }
  return { ref, proxyPath: slash < 0 ? '' : rest.slice(slash + 1) };
}

/** Errors here are answered 502 (the function failed) or with their own status (the request was wrong). */
function failure(c: Context, err: NanoGridError, status: 502 | 504 | undefined, jobId?: string): Response {
  if (jobId) c.header('X-NanoGrid-Job-Id', jobId);
  return c.json(errorBody(err), status ?? (err.status as 400));
}

/**
 * HTTP endpoints: any method on `/fn/{function}/{path…}` runs the function
 * with an API Gateway proxy event and sends back what it returns, as API
 * Gateway does with a Lambda proxy integration. A failed run is a 502 with a
 * JSON error body; a run that outlives its timeout (plus margin) a 504.
 */
export function endpointHandler(opts: EndpointHandlerOptions) {
  const waitFor = requestWaits(opts.shutdownSignal);
  return async (c: Context): Promise<Response> => {
    const { ref, proxyPath } = splitPath(c.req.path);
    const authorize = () => opts.auth(c, async () => {});
    // Without a key, a missing function answers as a private one would: no probing for names.
    const fn = await opts.registry.get(ref).catch(async (err) => {
      if (isNanoGridError(err, 'FUNCTION_NOT_FOUND')) await authorize();
      throw err;
    });
    if (!fn.public) await authorize();
    const body = await readBodyBytes(c, opts.bodyLimit);
    const event = toProxyEvent(
      c.req.raw,
      body,
      { functionRef: ref, proxyPath, sourceIp: opts.clientIp(c), accountId: opts.accountId },
      fn.http_event ?? '1.0',
    );
    // The version resolved above runs, even if an alias moves meanwhile.
    const { record } = await opts.jobs.submit(`${fn.function_id}:${fn.version}`, event, 'function', {
      trigger: 'http',
      sync: true,
    });
    const request = waitFor(c);
    const final = await opts.jobs
      .wait(record.job_id, { timeoutMs: fn.timeout * 1000 + opts.syncMarginMs, signal: request.signal })
      .finally(request.done);
    c.header('X-NanoGrid-Job-Id', record.job_id);
    if (final.status === 'failed' || final.status === 'cancelled') {
      const e = final.error ?? { code: 'INTERNAL' as const, message: 'the job failed without an error record' };
      return failure(c, new NanoGridError(e.code, e.message, { details: { job_id: record.job_id } }), 502);
    }
    if (final.status !== 'completed') {
      const err = new NanoGridError(
        'TIMEOUT',
        `no answer yet; the job is still ${final.status} (GET /jobs/${record.job_id})`,
      );
      return failure(c, err, 504, record.job_id);
    }
    try {
      const res = fromProxyResult(final.result);
      res.headers.set('X-NanoGrid-Job-Id', record.job_id);
      // Appended, so a policy of the function's own still applies as well.
      res.headers.append('Content-Security-Policy', FUNCTION_PAGE_CSP);
      if (!res.headers.has('X-Content-Type-Options')) res.headers.set('X-Content-Type-Options', 'nosniff');
      return res;
    } catch (err) {
      if (isNanoGridError(err, 'BAD_RESULT')) return failure(c, err, 502, record.job_id);
      throw err;
    }
  };
}

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type CallbackUrlPolicy, checkCallbackUrl, guardedLookup } from './callback-url-guard.js';

export interface PostCallbackOptions {
  policy?: CallbackUrlPolicy;
  /** Whole attempt, connect to last response byte. @default 10_000 */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

/** What one delivery attempt gave. `retry` is false for answers that another try would not change. */
export interface PostCallbackResult {
  ok: boolean;
  status?: number;
  retry: boolean;
  error?: string;
}

/**
 * POSTs one callback body. Addresses are checked at connection time (no
 * redirects are followed, a receiver cannot bounce the call to a private
 * address). 2xx is delivered; 408, 429 and 5xx and network errors are worth a
 * retry; other 4xx are final.
 */
export function postCallback(url: string, body: string, opts: PostCallbackOptions = {}): Promise<PostCallbackResult> {
  const policy = opts.policy ?? {};
  let target: URL;
  try {
    target = checkCallbackUrl(url, policy);
  } catch (err) {
    return Promise.resolve({ ok: false, retry: false, error: (err as Error).message });
  }
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (r: PostCallbackResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(r);
    };
    const req = request(
      target,
      {
        method: 'POST',
        lookup: guardedLookup(policy),
        timeout: timeoutMs,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'NanoGrid-Webhook/1',
          ...opts.headers,
        },
      },
      (res) => {
        // The status is the answer: its body is never read, so a receiver that drips
        // bytes (each one would reset the socket's idle timeout) cannot hold the attempt.
        const status = res.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        settle({ ok, status, retry: !ok && (status === 408 || status === 429 || status >= 500) });
        res.destroy();
      },
    );
    // `timeout` above is the socket's idle time; this bounds the whole attempt (a trickling receiver).
    const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => {
      // A refused address is final: it would resolve the same way next time.
      const refusedAddress = (err as { code?: string }).code === 'VALIDATION_FAILED';
      settle({ ok: false, retry: !refusedAddress, error: err.message });
    });
    req.end(body);
  });
}

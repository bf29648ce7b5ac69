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

/** Answer bytes read (then dropped): enough to see the status, never a receiver's whole page. */
const MAX_ANSWER_BYTES = 64 * 1024;

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
  return new Promise((resolve) => {
    const req = request(
      target,
      {
        method: 'POST',
        lookup: guardedLookup(policy),
        timeout: opts.timeoutMs ?? 10_000,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'NanoGrid-Webhook/1',
          ...opts.headers,
        },
      },
      (res) => {
        let seen = 0;
        res.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > MAX_ANSWER_BYTES) res.destroy();
        });
        const done = () => {
          const status = res.statusCode ?? 0;
          const ok = status >= 200 && status < 300;
          resolve({ ok, status, retry: !ok && (status === 408 || status === 429 || status >= 500) });
        };
        res.on('end', done);
        res.on('close', done);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs ?? 10_000} ms`)));
    req.on('error', (err) => {
      // A refused address is final: it would resolve the same way next time.
      const refusedAddress = (err as { code?: string }).code === 'VALIDATION_FAILED';
      resolve({ ok: false, retry: !refusedAddress, error: err.message });
    });
    req.end(body);
  });
}

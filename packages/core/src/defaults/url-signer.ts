import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** HMAC-SHA256 signatures of `(key, expires)` pairs: the signed links of filesystem storage. */
export interface UrlSigner {
  /** Hex signature of `key` valid until `expires` (unix seconds). */
  sign(key: string, expires: number): string;
  /** True when `sig` signs `key` until `expires` and `expires` is not past. Timing-safe. */
  verify(key: string, expires: string, sig: string, nowMs?: number): boolean;
}

/** `secret` defaults to 32 random bytes: links then live as long as the process. */
export function createUrlSigner(secret: string | Buffer = randomBytes(32)): UrlSigner {
  const sign = (key: string, expires: number) =>
    createHmac('sha256', secret).update(`${key}\n${expires}`).digest('hex');
  return {
    sign,
    verify(key, expires, sig, nowMs = Date.now()) {
      if (!/^\d{1,12}$/.test(expires) || !/^[0-9a-f]{64}$/i.test(sig)) return false;
      const exp = Number(expires);
      if (exp * 1000 <= nowMs) return false;
      return timingSafeEqual(Buffer.from(sign(key, exp), 'hex'), Buffer.from(sig, 'hex'));
    },
  };
}

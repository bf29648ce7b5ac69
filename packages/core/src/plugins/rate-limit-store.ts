/**
 * Counts requests per key in fixed windows. The memory store serves one host;
 * a shared store (Redis) makes the per-IP limit hold across controllers.
 */
export interface RateLimitStore {
  readonly name: string;
  /** Counts one hit for `key`; returns the hits in the current window and when it resets (epoch ms). */
  hit(key: string, windowMs: number): Promise<{ count: number; resetAt: number }>;
  close?(): Promise<void>;
}

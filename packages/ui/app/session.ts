import { NanoGridClient } from './vendor/client/index.js';

// Session storage: the key lives as long as the tab and is never put in a URL.
const KEY = 'nanogrid.apiKey';

export function storedKey(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function storeKey(key: string): void {
  sessionStorage.setItem(KEY, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY);
}

/** A client of this controller's API that sends the stored key. */
export function client(key = storedKey()): NanoGridClient {
  return new NanoGridClient({ url: location.origin, ...(key ? { apiKey: key } : {}) });
}

/** Headers of a raw request (streams, routes the client has no method for). */
export function authHeaders(): Record<string, string> {
  const key = storedKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** Fired when the API refuses the stored key: the app shows the sign-in form again. */
export const SIGNED_OUT = 'nanogrid:signed-out';

export function signOut(): void {
  forgetKey();
  window.dispatchEvent(new Event(SIGNED_OUT));
}

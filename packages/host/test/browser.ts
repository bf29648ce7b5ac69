import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';

/** Debian's Chromium (apt package `chromium`); CI installs it. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Whether browser tests can run here. With CI=true a missing Chromium throws
 * (the test file fails, it never skips); otherwise the tests skip and say why.
 */
export function browserTestEnv(): { ready: boolean; reason: string } {
  if (existsSync(CHROMIUM)) return { ready: true, reason: '' };
  const reason = `Chromium is not installed at ${CHROMIUM} (apt-get install -y chromium)`;
  if (process.env.CI === 'true') throw new Error(`browser tests cannot run with CI=true: ${reason}`);
  console.warn(`browser tests skipped: ${reason}`);
  return { ready: false, reason };
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    // Root in a container: no user namespaces for Chromium's own sandbox; no GPU either.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** Everything that went wrong in a page: console errors, uncaught exceptions, failed or refused requests. */
export interface PageProblems {
  list: string[];
  /** Drops problems a test caused on purpose (a wrong key's 401). */
  forgive(match: RegExp): void;
}

/** `secret`: a value no request URL may carry (the API key: it travels in a header only). */
export function watchPage(page: Page, secret?: string): PageProblems {
  const list: string[] = [];
  page.on('request', (r) => {
    if (secret && decodeURIComponent(r.url()).includes(secret)) list.push(`the secret is in a URL: ${r.url()}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') list.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => list.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // A stream the page aborts when it leaves a view is not a failure.
    if (r.failure()?.errorText === 'net::ERR_ABORTED' && /follow=1/.test(r.url())) return;
    list.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) list.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  return {
    list,
    forgive(match) {
      for (let i = list.length - 1; i >= 0; i--) if (match.test(list[i]!)) list.splice(i, 1);
    },
  };
}

/** Bytes on the wire (headers + encoded bodies) of every response a page got while `load` ran. */
export async function measureTransfer(
  page: Page,
  load: () => Promise<void>,
): Promise<{ bytes: number; files: number }> {
  const sizes: Promise<number>[] = [];
  const on = (r: import('playwright-core').Response) =>
    sizes.push(
      r
        .request()
        .sizes()
        .then((s) => s.responseBodySize + s.responseHeadersSize),
    );
  page.on('response', on);
  try {
    await load();
  } finally {
    page.off('response', on);
  }
  const all = await Promise.all(sizes);
  return { bytes: all.reduce((a, b) => a + b, 0), files: all.length };
}

export async function newPage(
  browser: Browser,
  viewport = { width: 1280, height: 860 },
  secret?: string,
): Promise<{
  context: BrowserContext;
  page: Page;
  problems: PageProblems;
}> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  return { context, page, problems: watchPage(page, secret) };
}

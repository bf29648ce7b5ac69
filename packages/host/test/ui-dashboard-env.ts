import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { silentLogger } from '@nanogrid/core';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { type RunningHost, startHost } from '../src/index.js';
import { type PageProblems, launchChromium, newPage } from './browser.js';

// page.evaluate callbacks run in Chromium; these are the DOM names they use (the test program has no DOM types).
interface El {
  tagName: string;
  id: string;
  labels?: ArrayLike<unknown> | null;
  getAttribute(name: string): string | null;
  className: string;
  textContent: string | null;
  closest(selector: string): El | null;
  querySelector(selector: string): Canvas | null;
  getBoundingClientRect(): { right: number };
}
interface Canvas {
  width: number;
  height: number;
  getContext(
    kind: '2d',
  ): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
declare const document: { querySelectorAll(selector: string): ArrayLike<El>; documentElement: { scrollWidth: number } };
declare const window: { innerWidth: number };

/** How long a poll waits for the page: generous, for a loaded CI machine (the default is 1 s). */
export const PATIENCE = { timeout: 20_000 };

export const text = async (l: Locator): Promise<string> => (await l.textContent()) ?? '';

/** A real host with an API key, a Chromium, and the pages a test file opened (each one watched for problems). */
export interface DashboardEnv {
  readonly key: string;
  host(): RunningHost;
  /** Where screenshots go: a temp dir, or UI_SCREENSHOTS (docs/ to refresh the README's). */
  shotDir(): string;
  open(viewport?: { width: number; height: number }): Promise<Page>;
  signIn(page: Page, hash?: string): Promise<void>;
  /** Deploys through the API (the page's deploy form has its own test). */
  deploy(name: string, source: string): Promise<void>;
  /** Console errors, page errors, failed requests, 4xx/5xx and key-carrying URLs of every page opened. */
  problems(): PageProblems[];
}

/** Registers the file's beforeAll/afterAll: a host on port 0 (process sandbox, SQLite store) and a browser. */
export function dashboardEnv(): DashboardEnv {
  const key = `ui-test-${Math.random().toString(36).slice(2)}`;
  let host: RunningHost;
  let browser: Browser;
  let cwd: string;
  let shots: string;
  const watched: PageProblems[] = [];
  beforeAll(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'nanogrid-ui-'));
    shots = process.env.UI_SCREENSHOTS
      ? resolve(process.env.UI_SCREENSHOTS)
      : await mkdtemp(join(tmpdir(), 'nanogrid-ui-shots-'));
    await mkdir(shots, { recursive: true });
    host = await startHost({
      config: {
        sandbox: 'process',
        hostname: '127.0.0.1',
        worker: { concurrency: 2, pollWaitMs: 1000 },
        http: { apiKeys: [key] },
      },
      port: 0,
      cwd,
      logger: silentLogger,
      handleSignals: false,
    });
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    // Pages (and their event streams) go before the host does.
    await browser?.close();
    await host?.close();
    if (cwd) await rm(cwd, { recursive: true, force: true });
    if (shots) console.log(`dashboard screenshots: ${shots}`);
  });
  return {
    key,
    host: () => host,
    shotDir: () => shots,
    async open(viewport) {
      const { page, problems } = await newPage(browser, viewport, key);
      watched.push(problems);
      return page;
    },
    async signIn(page, hash = '') {
      await page.goto(`${host.url}/ui/${hash}`);
      await page.getByLabel('API key').fill(key);
      await page.getByRole('button', { name: 'Sign in' }).click();
    },
    async deploy(name, source) {
      const form = new FormData();
      form.append('file', new Blob([source]), 'main.py');
      form.append('function_name', name);
      form.append('runtime', 'python3.11');
      const res = await fetch(`${host.url}/upload`, {
        method: 'POST',
        body: form,
        headers: { authorization: `Bearer ${key}` },
      });
      expect(res.status).toBe(201);
    },
    problems: () => watched,
  };
}

/** Form controls a screen reader could not name: no <label>, no aria-label(ledby), no text. */
export function unlabelled(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('input, select, textarea, button'))
      .filter(
        (e) =>
          !(e.labels && e.labels.length > 0) &&
          !e.getAttribute('aria-label') &&
          !e.getAttribute('aria-labelledby') &&
          !(e.tagName === 'BUTTON' && e.textContent?.trim()),
      )
      .map((e) => `${e.tagName.toLowerCase()}#${e.id}`),
  );
}

/** Elements reaching past the viewport's right edge (a table's own scroll box aside). */
export function tooWide(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('body *'))
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap'))
      .map((e) => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}px`),
  );
}

export function pageWidth(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth);
}

/** Pixels of a series' colour on the chart's canvas (-1: no such chart). */
export function seriesPixels(page: Page, title: string, rgb: [number, number, number]): Promise<number> {
  return page.evaluate(
    ({ title, rgb }) => {
      const fig = Array.from(document.querySelectorAll('figure.chart')).find((f) => f.textContent?.startsWith(title));
      const canvas = fig?.querySelector('canvas');
      const ctx = canvas?.getContext('2d');
      if (!canvas || !ctx) return -1;
      const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < px.length; i += 4) {
        const near = (j: number) => Math.abs(px[i + j]! - rgb[j]!) < 24;
        if (near(0) && near(1) && near(2)) n++;
      }
      return n;
    },
    { title, rgb },
  );
}

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { silentLogger } from '@nanogrid/core';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHost, startHost } from '../src/index.js';
import { type PageProblems, browserTestEnv, launchChromium, measureTransfer, newPage } from './browser.js';

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
declare const sessionStorage: { length: number };
declare const DataTransfer: new () => { items: { add(file: unknown): void } };

const env = browserTestEnv();
const text = async (l: Locator): Promise<string> => (await l.textContent()) ?? '';
const KEY = `ui-test-${Math.random().toString(36).slice(2)}`;
const GREET_PY = `def handler(event, context):
    print("greeting", event["name"])
    return {"message": "Hello, " + event["name"] + "!"}
`;
// Its message is markup a careless page would render: it must show as text.
const FAILS_PY = `def handler(event, context):
    raise ValueError("divisor <img src=/ui/x onerror=alert(1)> must not be zero")
`;
const REPORT_PY = `import os

def handler(event, context):
    with open(os.path.join(os.environ["OUTPUT_DIR"], "report.txt"), "w") as f:
        f.write("rows=2\\n")
    return {"rows": 2}
`;
const SLOW_PY = `import time

def handler(event, context):
    print("step 1", flush=True)
    time.sleep(60)
    return {"done": True}
`;
// Screenshots go to a temp dir, or where UI_SCREENSHOTS says (docs/ to refresh the README's).
const shots = process.env.UI_SCREENSHOTS ? resolve(process.env.UI_SCREENSHOTS) : undefined;

describe.skipIf(!env.ready)('web dashboard in Chromium', () => {
  let host: RunningHost;
  let browser: Browser;
  let cwd: string;
  let shotDir: string;
  const watched: PageProblems[] = [];

  beforeAll(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'nanogrid-ui-'));
    shotDir = shots ?? (await mkdtemp(join(tmpdir(), 'nanogrid-ui-shots-')));
    await mkdir(shotDir, { recursive: true });
    host = await startHost({
      config: {
        sandbox: 'process',
        hostname: '127.0.0.1',
        worker: { concurrency: 2, pollWaitMs: 1000 },
        http: { apiKeys: [KEY] },
      },
      port: 0,
      cwd,
      logger: silentLogger,
      handleSignals: false,
    });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await host?.close();
    if (cwd) await rm(cwd, { recursive: true, force: true });
    console.log(`dashboard screenshots: ${shotDir}`);
  });

  async function open(viewport?: { width: number; height: number }): Promise<Page> {
    const { page, problems } = await newPage(browser, viewport, KEY);
    watched.push(problems);
    return page;
  }

  async function signIn(page: Page, hash = ''): Promise<void> {
    await page.goto(`${host.url}/ui/${hash}`);
    await page.getByLabel('API key').fill(KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  /** Form controls a screen reader could not name: no <label>, no aria-label(ledby), no text. */
  function unlabelled(page: Page): Promise<string[]> {
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

  /** Non-blank pixels of a series' colour on the chart's canvas. */
  function seriesPixels(page: Page, title: string, rgb: [number, number, number]): Promise<number> {
    return page.evaluate(
      ({ title, rgb }) => {
        const fig = Array.from(document.querySelectorAll('figure.chart')).find((f) => f.textContent?.startsWith(title));
        const canvas = fig?.querySelector('canvas');
        const ctx = canvas?.getContext('2d');
        if (!canvas || !ctx) return -1;
        const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 0; i < px.length; i += 4) {
          if (
            Math.abs(px[i]! - rgb[0]) < 24 &&
            Math.abs(px[i + 1]! - rgb[1]) < 24 &&
            Math.abs(px[i + 2]! - rgb[2]) < 24
          )
            n++;
        }
        return n;
      },
      { title, rgb },
    );
  }

  it('signs in, deploys from a dropped file, invokes, sees the job live, reads its logs and a chart', async () => {
    const page = await open();
    // First load: the page, its code and styles, up to the sign-in form.
    const first = await measureTransfer(page, async () => {
      await page.goto(`${host.url}/ui/`, { waitUntil: 'networkidle' });
      await page.getByLabel('API key').waitFor();
    });
    console.log(`dashboard first load: ${first.files} files, ${(first.bytes / 1024).toFixed(1)} KiB on the wire`);
    expect(first.bytes).toBeLessThan(200 * 1024);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.screenshot({ path: join(shotDir, 'ui-sign-in.png') });

    await page.getByLabel('API key').fill(KEY);
    await page.getByLabel('API key').press('Enter');
    await page.getByRole('heading', { name: 'Functions' }).waitFor();
    expect(page.url()).not.toContain(KEY);

    // Deploy by dropping a file on the zone: name and runtime follow from the file.
    const drop = await page.evaluateHandle((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], 'greet.py', { type: 'text/x-python' }));
      return dt;
    }, GREET_PY);
    await page.dispatchEvent('[data-testid=drop-zone]', 'drop', { dataTransfer: drop });
    await expect.poll(() => page.getByLabel('Name').inputValue()).toBe('greet');
    expect(await page.getByLabel('Runtime').inputValue()).toBe('python3.11');
    await page.getByRole('button', { name: 'Deploy' }).click();
    await page.getByText('Deployed greet version 1.').waitFor();
    expect(await unlabelled(page), 'functions page').toEqual([]);
    await page.getByRole('link', { name: 'greet' }).waitFor();

    // A second tab watches the jobs list.
    const jobs = await open();
    await signIn(jobs, '#/jobs');
    await jobs.getByRole('heading', { name: 'Jobs' }).waitFor();
    expect(await unlabelled(jobs), 'jobs page').toEqual([]);
    // Kept current by the event stream (GET /jobs?follow=1), not by polling.
    await expect.poll(() => text(jobs.getByTestId('live-mode'))).toBe('live');

    // Invoke with a typed payload.
    await page.getByRole('link', { name: 'greet' }).click();
    await page.getByRole('heading', { name: 'greet' }).waitFor();
    const editor = page.getByLabel('Payload (JSON)');
    await editor.fill('');
    await editor.pressSequentially('{"name": "Ada <b>"');
    await page.getByText('Not JSON').waitFor();
    expect(await page.getByRole('button', { name: 'Run', exact: true }).isDisabled()).toBe(true);
    await editor.press('End');
    await editor.pressSequentially('}');
    expect(await unlabelled(page), 'function page').toEqual([]);
    // The keyboard's way to run it.
    await editor.press('Control+Enter');
    const result = page.getByTestId('invoke-result');
    await result.waitFor();
    expect(JSON.parse(await text(result))).toEqual({ message: 'Hello, Ada <b>!' });
    const jobLink = page.getByRole('link', { name: /^job / });
    const jobId = (await text(jobLink)).replace(/^job /, '');

    // The job shows up in the other tab without a reload.
    const row = jobs.getByRole('row').filter({ hasText: jobId.slice(0, 8) });
    await row.waitFor();
    await expect.poll(() => text(row)).toContain('completed');
    expect(await text(jobs.getByTestId('live-mode'))).toBe('live');
    await jobs.screenshot({ path: join(shotDir, 'ui-jobs.png') });

    // Filters: they live in the URL and the list follows them.
    await jobs.getByLabel('Status').selectOption('failed');
    await jobs.getByText('No jobs match.').waitFor();
    expect(jobs.url()).toContain('status=failed');
    await jobs.getByLabel('Status').selectOption('');
    await jobs.getByLabel('Function').selectOption('greet');
    await row.waitFor();
    expect(jobs.url()).toContain('function=greet');
    expect(jobs.url()).not.toContain('status=');

    // Its page: result and logs.
    await row.getByRole('link').click();
    await jobs.getByTestId('job-status').waitFor();
    expect(await text(jobs.getByTestId('job-status'))).toBe('completed');
    await expect.poll(() => text(jobs.getByTestId('job-logs'))).toContain('greeting Ada <b>');
    expect(JSON.parse(await text(jobs.getByTestId('job-result')))).toEqual({ message: 'Hello, Ada <b>!' });
    expect(JSON.parse(await text(jobs.getByTestId('job-payload')))).toEqual({ name: 'Ada <b>' });
    expect(await unlabelled(jobs), 'job page').toEqual([]);
    await jobs.screenshot({ path: join(shotDir, 'ui-job.png'), fullPage: true });

    // The invocations chart has drawn the call in its series colour (#2f6fde).
    await page.reload();
    await page.locator('figure.chart canvas').first().waitFor();
    await expect.poll(() => seriesPixels(page, 'Invocations per minute', [47, 111, 222])).toBeGreaterThan(10);
    await page.screenshot({ path: join(shotDir, 'ui-function.png'), fullPage: true });

    // The system page: this host as controller and worker, the queue, the backends' health.
    await page.getByRole('link', { name: 'System' }).click();
    await page.getByTestId('system-facts').waitFor();
    expect(await text(page.getByTestId('system-facts'))).toMatch(/Queue.*\d+ waiting/s);
    await page.getByRole('heading', { name: /Backends/ }).waitFor();
    expect(
      await page
        .getByRole('row')
        .filter({ hasText: /queue|results|storage/ })
        .count(),
    ).toBeGreaterThanOrEqual(3);
    expect(await unlabelled(page), 'system page').toEqual([]);
    await page.screenshot({ path: join(shotDir, 'ui-system.png'), fullPage: true });

    // Phone width: nothing wider than the screen (tables scroll in their own box); the last hour's count.
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${host.url}/ui/#/functions`);
    const greetRow = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'greet' }) });
    await expect.poll(() => text(greetRow.locator('td').nth(3))).toBe('1');
    await page.screenshot({ path: join(shotDir, 'ui-phone.png'), fullPage: true });
    const pages: [string, () => Promise<void>][] = [
      ['functions', async () => {}],
      ['function', () => page.getByRole('link', { name: 'greet' }).click()],
      ['jobs', () => page.getByRole('link', { name: 'Jobs', exact: true }).click()],
      ['job', () => page.getByRole('link', { name: jobId.slice(0, 8) }).click()],
      ['system', () => page.getByRole('link', { name: 'System' }).click()],
    ];
    for (const [name, go] of pages) {
      await go();
      await page.getByRole('heading', { level: 1 }).waitFor();
      if (name === 'function') await page.locator('figure.chart canvas').first().waitFor();
      if (name === 'job') await page.getByTestId('job-status').waitFor();
      if (name === 'system') await page.getByTestId('system-facts').waitFor();
      const wide = await page.evaluate(() =>
        Array.from(document.querySelectorAll('body *'))
          .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap'))
          .map((e) => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}px`),
      );
      expect(wide, `${name} page: elements wider than a phone screen`).toEqual([]);
      expect(await page.evaluate(() => document.documentElement.scrollWidth), name).toBeLessThanOrEqual(375);
    }
  }, 120_000);

  /** Deploys through the API (the page's deploy form is the first test's). */
  async function deploy(name: string, source: string): Promise<void> {
    const form = new FormData();
    form.append('file', new Blob([source]), 'main.py');
    form.append('function_name', name);
    form.append('runtime', 'python3.11');
    const res = await fetch(`${host.url}/upload`, {
      method: 'POST',
      body: form,
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(res.status).toBe(201);
  }

  it('shows a failure with its trace, output file links, cancels a running job and deletes a function', async () => {
    await deploy('fails', FAILS_PY);
    await deploy('report', REPORT_PY);
    await deploy('slow', SLOW_PY);
    const page = await open();
    await signIn(page, '#/functions/fails');
    await page.getByRole('heading', { name: 'fails' }).waitFor();
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const error = page.getByTestId('invoke-error');
    await error.waitFor();
    expect(await text(error)).toMatch(
      /^FUNCTION_ERROR: .*divisor <img src=\/ui\/x onerror=alert\(1\)> must not be zero/,
    );
    expect(await page.locator('img').count()).toBe(0);

    // Schedules: a wrong expression is refused with the API's reason; a good one is listed, then deleted.
    const schedules = page.getByTestId('schedules');
    await page.getByLabel('Schedule', { exact: true }).fill('every tuesday');
    await page.getByRole('button', { name: 'Add schedule' }).click();
    await page.getByText(/^VALIDATION_FAILED: /).waitFor();
    watched.at(-1)!.forgive(/status of 400|HTTP 400: POST .*\/functions\/fails\/schedules$/);
    await page.getByLabel('Schedule', { exact: true }).fill('rate(1 hour)');
    await page.getByRole('button', { name: 'Add schedule' }).click();
    await expect.poll(() => text(schedules)).toContain('rate(1 hour)');
    await page.getByRole('button', { name: 'Delete schedule rate(1 hour)' }).click();
    await expect.poll(() => text(schedules)).toBe('');

    // Aliases: point one at version 1; it is shown on the version and offered to the invoke console.
    await page.getByLabel('Alias', { exact: true }).fill('prod');
    await page.getByRole('button', { name: 'Set alias' }).click();
    await page.getByRole('cell', { name: 'prod' }).waitFor();
    expect(await page.getByLabel('Version or alias').locator('option').allTextContents()).toContain('fails:prod');
    expect(await text(error)).toContain('ValueError');
    expect(await text(error)).toContain('Traceback');

    // Output files: a link per file, and the link downloads it.
    await page.goto(`${host.url}/ui/#/functions/report`);
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.getByTestId('invoke-result').waitFor();
    await page.getByRole('link', { name: /^job / }).click();
    const file = page.getByRole('link', { name: 'report.txt' });
    await file.waitFor();
    const link = (await file.getAttribute('href')) ?? '';
    expect(await (await fetch(new URL(link, host.url))).text()).toBe('rows=2\n');

    // Run async lands on the job's page; cancel kills it.
    await page.goto(`${host.url}/ui/#/functions/slow`);
    await page.getByRole('button', { name: 'Run async' }).click();
    await page.waitForURL(/#\/jobs\/[\w-]+$/);
    await expect.poll(() => text(page.getByTestId('job-status')), { timeout: 20_000 }).toBe('running');
    // Its logs stream in while it runs (it sleeps a minute after printing).
    await expect.poll(() => text(page.getByTestId('job-logs')), { timeout: 20_000 }).toContain('step 1');
    expect(await text(page.getByTestId('job-status'))).toBe('running');
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await expect.poll(() => text(page.getByTestId('job-status')), { timeout: 20_000 }).toBe('cancelled');

    // Delete asks first; the row goes.
    await page.goto(`${host.url}/ui/#/functions`);
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete fails' }).click();
    await page.getByText('Deleted fails.').waitFor();
    await expect.poll(() => page.getByRole('link', { name: 'fails', exact: true }).count()).toBe(0);
  }, 120_000);

  it('a wrong key is refused on the form and nothing is stored', async () => {
    const page = await open();
    await page.goto(`${host.url}/ui/`);
    await page.getByLabel('API key').fill('not-the-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('This API key is not accepted.').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    // The refused check is the only problem, and the one this test caused.
    watched.at(-1)!.forgive(/401|Failed to load resource: the server responded with a status of 401/);
  });

  it('without API keys the sign-in is skipped', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nanogrid-ui-open-'));
    const open_ = await startHost({
      config: { sandbox: 'process', hostname: '127.0.0.1', worker: { concurrency: 1, pollWaitMs: 1000 } },
      port: 0,
      cwd: dir,
      logger: silentLogger,
      handleSignals: false,
    });
    const page = await open();
    try {
      await page.goto(`${open_.url}/ui/#/jobs`);
      await page.getByRole('heading', { name: 'Jobs' }).waitFor();
      expect(await page.getByLabel('API key').count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    } finally {
      // The page's event stream goes before the host does.
      await page.close();
      await open_.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('no page had a console error or a failed request', () => {
    expect(watched.flatMap((w) => w.list)).toEqual([]);
  });
});

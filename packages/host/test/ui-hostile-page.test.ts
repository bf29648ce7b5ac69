import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@nanogrid/core';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHost, startHost } from '../src/index.js';
import { browserTestEnv, launchChromium, newPage } from './browser.js';

declare const document: {
  title: string;
  querySelectorAll(selector: string): ArrayLike<unknown>;
  body: { innerText: string };
};

const env = browserTestEnv();
const KEY = `hostile-page-${Math.random().toString(36).slice(2)}`;

// A public function whose page tries to take the dashboard's key: from this tab's
// session storage, and from a dashboard it opens (where the user would sign in again).
const EVIL_JS = `exports.handler = async () => ({
  statusCode: 200,
  headers: { 'content-type': 'text/html' },
  body: \`<!doctype html><title>evil</title><script>
    const seen = [];
    try { seen.push('storage:' + sessionStorage.getItem('nanogrid.apiKey')); } catch (e) { seen.push('storage:' + e.name); }
    try { document.cookie = 'stolen=1; path=/'; seen.push('cookie:set'); } catch (e) { seen.push('cookie:' + e.name); }
    const w = window.open('/ui/');
    setTimeout(() => {
      try { seen.push('opened:' + w.sessionStorage.getItem('nanogrid.apiKey')); } catch (e) { seen.push('opened:' + e.name); }
      document.title = seen.join(' ');
    }, 1500);
  </script>\`,
});
`;

// Markup in everything a function controls that the job page shows: payload, result, logs, error.
const MARKUP = '<img data-pwn src=x onerror=alert(1)><b data-pwn>bold</b>';
const MARKUP_PY = `import sys
def handler(event, context):
    print(event["m"], flush=True)
    print(event["m"], file=sys.stderr, flush=True)
    return {"html": event["m"], "</script><script data-pwn>": 1}
`;

describe.skipIf(!env.ready)('a function page served from the dashboard origin', () => {
  let host: RunningHost;
  let browser: Browser;
  let cwd: string;

  beforeAll(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'nanogrid-hostile-page-'));
    host = await startHost({
      config: { sandbox: 'process', hostname: '127.0.0.1', http: { apiKeys: [KEY] } },
      port: 0,
      cwd,
      logger: silentLogger,
      handleSignals: false,
    });
    const form = new FormData();
    form.set('file', new Blob([EVIL_JS]), 'evil.js');
    form.set('function_name', 'evil');
    form.set('runtime', 'nodejs18.x');
    form.set('handler', 'evil.handler');
    form.set('public', 'true');
    const res = await fetch(`${host.url}/upload`, {
      method: 'POST',
      body: form,
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(res.status).toBe(201);
    const markup = new FormData();
    markup.set('file', new Blob([MARKUP_PY]), 'markup.py');
    markup.set('function_name', 'markup');
    markup.set('runtime', 'python3.11');
    markup.set('handler', 'markup.handler');
    const deployed = await fetch(`${host.url}/upload`, {
      method: 'POST',
      body: markup,
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(deployed.status).toBe(201);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await host?.close();
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });

  it('cannot read the signed-in tab’s key, set cookies for the host, or reach a dashboard it opens', async () => {
    const { context, page } = await newPage(browser, undefined, KEY);
    await page.goto(`${host.url}/ui/`);
    await page.getByLabel('API key').fill(KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Functions' }).waitFor();
    // The same tab goes to the function's page, as a typed URL or a link would take it.
    await page.goto(`${host.url}/fn/evil`);
    await page.waitForFunction(() => document.title.startsWith('storage:'), undefined, { timeout: 30_000 });
    const seen = await page.title();
    expect(seen).not.toContain(KEY);
    expect(seen).toMatch(/^storage:SecurityError cookie:SecurityError opened:SecurityError$/);
    expect(await context.cookies()).toEqual([]);
    await context.close();
  }, 60_000);

  it('shows markup in a job’s payload, result and logs as text, never as elements', async () => {
    const ran = await fetch(`${host.url}/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ function: 'markup', payload: { m: MARKUP } }),
    });
    const job = (await ran.json()) as { job_id: string; status: string };
    expect(job.status).toBe('completed');
    const { context, page, problems } = await newPage(browser, undefined, KEY);
    await page.goto(`${host.url}/ui/#/jobs/${job.job_id}`);
    await page.getByLabel('API key').fill(KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('completed').first().waitFor();
    await page.waitForFunction(
      (m) => document.body.innerText.split(m).length > 3, // payload, result and the log lines
      MARKUP,
      { timeout: 30_000 },
    );
    expect(await page.evaluate(() => document.querySelectorAll('[data-pwn]').length)).toBe(0);
    expect(problems.list).toEqual([]);
    await context.close();
  }, 60_000);
});

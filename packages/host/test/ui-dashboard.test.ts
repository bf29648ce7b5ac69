import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { browserTestEnv, measureTransfer } from './browser.js';
import { PATIENCE, dashboardEnv, pageWidth, seriesPixels, text, tooWide, unlabelled } from './ui-dashboard-env.js';

// The page-side names this file's evaluate callbacks use (the test program has no DOM types).
declare const sessionStorage: { length: number };
declare const DataTransfer: new () => { items: { add(file: unknown): void } };

const env = browserTestEnv();
const GREET_PY = `def handler(event, context):
    print("greeting", event["name"])
    return {"message": "Hello, " + event["name"] + "!"}
`;

describe.skipIf(!env.ready)('web dashboard in Chromium: the main path', () => {
  const ui = dashboardEnv();

  it('signs in, deploys from a dropped file, invokes, sees the job live, reads its logs and a chart', async () => {
    const page = await ui.open();
    // First load: the page, its code and styles, up to the sign-in form.
    const first = await measureTransfer(page, async () => {
      await page.goto(`${ui.host().url}/ui/`, { waitUntil: 'networkidle' });
      await page.getByLabel('API key').waitFor();
    });
    console.log(`dashboard first load: ${first.files} files, ${(first.bytes / 1024).toFixed(1)} KiB on the wire`);
    expect(first.bytes).toBeLessThan(200 * 1024);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.screenshot({ path: join(ui.shotDir(), 'ui-sign-in.png') });

    // Keyboard only: the key field has the focus, Enter signs in.
    await page.keyboard.type(ui.key);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Functions' }).waitFor();
    expect(page.url()).not.toContain(ui.key);

    // Deploy by dropping a file on the zone: name and runtime follow from the file.
    const drop = await page.evaluateHandle((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], 'greet.py', { type: 'text/x-python' }));
      return dt;
    }, GREET_PY);
    await page.dispatchEvent('[data-testid=drop-zone]', 'drop', { dataTransfer: drop });
    await expect.poll(() => page.getByLabel('Name').inputValue(), PATIENCE).toBe('greet');
    expect(await page.getByLabel('Runtime').inputValue()).toBe('python3.11');
    await page.getByRole('button', { name: 'Deploy' }).click();
    await page.getByText('Deployed greet version 1.').waitFor();
    expect(await unlabelled(page), 'functions page').toEqual([]);
    await page.getByRole('link', { name: 'greet' }).waitFor();

    // A second tab watches the jobs list.
    const jobs = await ui.open();
    await ui.signIn(jobs, '#/jobs');
    await jobs.getByRole('heading', { name: 'Jobs' }).waitFor();
    expect(await unlabelled(jobs), 'jobs page').toEqual([]);
    // Kept current by the event stream (GET /jobs?follow=1), not by polling.
    await expect.poll(() => text(jobs.getByTestId('live-mode')), PATIENCE).toBe('live');

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
    await expect.poll(() => text(row), PATIENCE).toContain('completed');
    expect(await text(jobs.getByTestId('live-mode'))).toBe('live');
    await jobs.screenshot({ path: join(ui.shotDir(), 'ui-jobs.png') });

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
    await expect.poll(() => text(jobs.getByTestId('job-logs')), PATIENCE).toContain('greeting Ada <b>');
    expect(JSON.parse(await text(jobs.getByTestId('job-result')))).toEqual({ message: 'Hello, Ada <b>!' });
    expect(JSON.parse(await text(jobs.getByTestId('job-payload')))).toEqual({ name: 'Ada <b>' });
    expect(await unlabelled(jobs), 'job page').toEqual([]);
    await jobs.screenshot({ path: join(ui.shotDir(), 'ui-job.png'), fullPage: true });

    // The invocations chart has drawn the call in its series colour (#2f6fde), once the statistics count it.
    const stats = async () => {
      const res = await fetch(`${ui.host().url}/functions/greet/stats?window=1h`, {
        headers: { authorization: `Bearer ${ui.key}` },
      });
      return ((await res.json()) as { totals: { invocations: number } }).totals.invocations;
    };
    await expect.poll(stats, PATIENCE).toBe(1);
    await page.reload();
    await page.locator('figure.chart canvas').first().waitFor();
    await page
      .getByTestId('stats-totals')
      .getByText(/^1 calls/)
      .waitFor();
    const pixels = await seriesPixels(page, 'Invocations per minute', [47, 111, 222]);
    if (pixels <= 10) await page.screenshot({ path: join(ui.shotDir(), 'ui-chart-failed.png'), fullPage: true });
    expect(pixels, `blue pixels of the calls series (screenshots: ${ui.shotDir()})`).toBeGreaterThan(10);
    await page.screenshot({ path: join(ui.shotDir(), 'ui-function.png'), fullPage: true });

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
    await page.screenshot({ path: join(ui.shotDir(), 'ui-system.png'), fullPage: true });

    // Phone width: nothing wider than the screen (tables scroll in their own box); the last hour's count.
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${ui.host().url}/ui/#/functions`);
    const greetRow = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'greet' }) });
    await expect.poll(() => text(greetRow.locator('td').nth(3)), PATIENCE).toBe('1');
    await page.screenshot({ path: join(ui.shotDir(), 'ui-phone.png'), fullPage: true });
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
      expect(await tooWide(page), `${name} page: elements wider than a phone screen`).toEqual([]);
      expect(await pageWidth(page), name).toBeLessThanOrEqual(375);
    }
  }, 120_000);

  it('no page had a console error, a failed request or the key in a URL', () => {
    expect(ui.problems().flatMap((w) => w.list)).toEqual([]);
  });
});

import { gunzipSync } from 'node:zlib';
import { UI_CSP } from '@nanogrid/ui';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createController } from '../src/index.js';
import { type TestHost, makeHost } from './helpers.js';

const KEY = 'ui-routes-key';

describe('the dashboard at /ui', () => {
  let host: TestHost;
  let build: string;
  let page: string;
  beforeAll(async () => {
    host = await makeHost({ apiKeys: [KEY] });
    const res = await host.app.request('/ui/');
    page = await res.text();
    build = /\/ui\/([0-9a-f]{12})\/app\/main\.js/.exec(page)?.[1] ?? '';
  });
  afterAll(async () => {
    await host?.close();
  });

  it('serves the page without a key, with a strict CSP and no inline script', async () => {
    for (const path of ['/ui', '/ui/']) {
      const res = await host.app.request(path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('content-security-policy')).toBe(UI_CSP);
      expect(UI_CSP).toMatch(/^default-src 'self';/);
      expect(UI_CSP).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
    expect(build).toMatch(/^[0-9a-f]{12}$/);
    // Every script is a file of the build; nothing comes from another origin.
    expect([...page.matchAll(/<script\b[^>]*>/g)].every((m) => /\bsrc="\/ui\//.test(m[0]))).toBe(true);
    expect(page).not.toMatch(/https?:\/\//);
  });

  it('says whether a key is needed, and the API still wants one', async () => {
    expect(await (await host.app.request('/ui/config.json')).json()).toEqual({ auth: true });
    expect((await host.app.request('/functions')).status).toBe(401);
    const open = createController({
      registry: host.nanogrid.registry,
      jobs: host.nanogrid.jobs,
      storage: host.nanogrid.storage,
    });
    expect(await (await open.request('/ui/config.json')).json()).toEqual({ auth: false });
    const off = createController({
      registry: host.nanogrid.registry,
      jobs: host.nanogrid.jobs,
      storage: host.nanogrid.storage,
      http: { ui: false },
    });
    expect((await off.request('/ui/')).status).toBe(404);
  });

  it('serves files with their content type, gzip, an ETag and a year of caching under the build id', async () => {
    const cases: [string, string][] = [
      ['app/main.js', 'text/javascript; charset=utf-8'],
      ['app/vendor/htm-preact.js', 'text/javascript; charset=utf-8'],
      ['app/vendor/uplot.js', 'text/javascript; charset=utf-8'],
      ['app/vendor/client/index.js', 'text/javascript; charset=utf-8'],
      ['style.css', 'text/css; charset=utf-8'],
      ['uplot.css', 'text/css; charset=utf-8'],
      ['favicon.svg', 'image/svg+xml'],
    ];
    for (const [path, type] of cases) {
      const res = await host.app.request(`/ui/${build}/${path}`, { headers: { 'accept-encoding': 'gzip, br' } });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe(type);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('content-encoding')).toBe('gzip');
      expect(res.headers.get('vary')).toBe('accept-encoding');
      const body = gunzipSync(Buffer.from(await res.arrayBuffer())).toString();
      expect(body.length).toBeGreaterThan(50);
      const etag = res.headers.get('etag')!;
      const again = await host.app.request(`/ui/${build}/${path}`, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
    }
    const plain = await host.app.request(`/ui/${build}/app/main.js`);
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(await plain.text()).toContain('import');
  });

  it('hostile paths, other builds, maps and sources get NOT_FOUND, never a file outside the build', async () => {
    const paths = [
      `/ui/${build}/../package.json`,
      `/ui/${build}/app/../../package.json`,
      `/ui/${build}/app/%2e%2e/%2e%2e/package.json`,
      `/ui/${build}/app/..%2f..%2fpackage.json`,
      `/ui/${build}/%2fetc%2fpasswd`,
      `/ui/${build}/app/main.js.map`,
      `/ui/${build}/app/main.d.ts`,
      `/ui/${build}/app/tsconfig.json`,
      `/ui/${build}/index.html`,
      `/ui/${build}/app/vendor/client/../../../../package.json`,
      `/ui/000000000000/app/main.js`,
      `/ui/${build}/${'a/'.repeat(2000)}x.js`,
    ];
    for (const path of paths) {
      const res = await host.app.request(path);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    }
  });

  it('sends the policy headers on every /ui answer: page, files, 304, config.json and errors', async () => {
    const cases: [string, Record<string, string>][] = [
      ['/ui', {}],
      ['/ui/', {}],
      [`/ui/${build}/app/main.js`, {}],
      ['/ui/config.json', {}],
      ['/ui/nope', {}],
      [`/ui/${build}/app/nope.js`, {}],
      [`/ui/${build}/app/%2e%2e%2fmain.js`, {}],
    ];
    const etag = (await host.app.request('/ui/')).headers.get('etag')!;
    cases.push(['/ui/', { 'if-none-match': etag }]);
    for (const [path, headers] of cases) {
      const res = await host.app.request(path, { headers });
      expect(res.headers.get('content-security-policy'), path).toBe(UI_CSP);
      expect(UI_CSP).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('cross-origin-opener-policy'), path).toBe('same-origin');
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
      if (res.status >= 400) expect(res.headers.get('cache-control'), path).toBe('no-store');
    }
  });
});

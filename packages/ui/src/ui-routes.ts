import { NanoGridError } from '@nanogrid/core';
import { type Context, Hono } from 'hono';
import { type UiAsset, type UiAssets, loadUiAssets } from './ui-assets.js';

export interface UiRoutesOptions {
  /** API keys are configured: the dashboard asks for one before anything else. */
  auth: boolean;
  /** Where the files come from (tests). @default the package's build and static files */
  assets?: () => Promise<UiAssets>;
}

/**
 * No inline script or style, nothing from another origin: the key in session
 * storage is only as safe as the scripts the page runs.
 */
export const UI_CSP =
  "default-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * On every /ui answer, errors and config.json included. The opener policy cuts a page
 * that opened the dashboard (a function's page at /fn/… is the same origin) off from
 * it, so it cannot read the key typed into the sign-in form.
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': UI_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

function send(c: Context, file: UiAsset, cacheControl: string): Response {
  const headers: Record<string, string> = {
    'content-type': file.type,
    'cache-control': cacheControl,
    etag: file.etag,
    vary: 'accept-encoding',
    ...SECURITY_HEADERS,
  };
  if (c.req.header('if-none-match') === file.etag) return new Response(null, { status: 304, headers });
  const gzip = /\bgzip\b/.test(c.req.header('accept-encoding') ?? '');
  if (gzip) headers['content-encoding'] = 'gzip';
  const body = gzip ? file.gzip : file.body;
  headers['content-length'] = String(body.length);
  return new Response(c.req.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers });
}

/**
 * The dashboard at `/ui`, mounted at the root before the API-key check: the page and its
 * code hold no data (every call they make sends the key). `/ui/` is the page,
 * `/ui/{build}/…` its files, cached for good since a new build has a new id.
 */
export function uiRoutes(opts: UiRoutesOptions): Hono {
  let loading: Promise<UiAssets> | undefined;
  const assets = () => {
    loading ??= (opts.assets ?? loadUiAssets)();
    // A failed load is retried by the next request (the build may land in between).
    loading.catch(() => {
      loading = undefined;
    });
    return loading;
  };
  const app = new Hono();
  const secure = async (c: Context, next: () => Promise<void>) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
    if (c.res.status >= 400) c.res.headers.set('cache-control', 'no-store');
  };
  app.use('/ui', secure);
  app.use('/ui/*', secure);
  const page = async (c: Context) => send(c, (await assets()).index, 'no-cache');
  app.get('/ui', page);
  app.get('/ui/', page);
  app.get('/ui/config.json', (c) => {
    c.header('cache-control', 'no-store');
    return c.json({ auth: opts.auth });
  });
  app.get('/ui/:build/*', async (c) => {
    const a = await assets();
    const build = c.req.param('build');
    const path = c.req.path.slice(c.req.path.indexOf(`/${build}/`) + build.length + 2);
    const file = build === a.build ? a.files.get(path) : undefined;
    if (!file) throw new NanoGridError('NOT_FOUND', `no dashboard file at ${c.req.path}: reload /ui/`);
    return send(c, file, 'public, max-age=31536000, immutable');
  });
  return app;
}

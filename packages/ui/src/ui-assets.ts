import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { NanoGridError } from '@nanogrid/core';

/** One file the dashboard serves, held in memory with its gzip form. */
export interface UiAsset {
  body: Buffer;
  gzip: Buffer;
  type: string;
  etag: string;
}

/** Every file of the dashboard by URL path under the build prefix (`app/main.js`), and the build's id. */
export interface UiAssets {
  /** Hash of every file: assets live under `/ui/{build}/` and are cached for good. */
  build: string;
  files: ReadonlyMap<string, UiAsset>;
  /** index.html with the build id filled in. */
  index: UiAsset;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.html': 'text/html; charset=utf-8',
};

const here = dirname(fileURLToPath(import.meta.url));
// src/ and dist/ are siblings, so the same relative paths hold for the sources (tests) and the build.
const root = join(here, '..');
const require = createRequire(import.meta.url);

/** Files of a directory tree whose extension is served (`.js` only for code: no maps, no .d.ts). */
async function walk(dir: string, exts: readonly string[]): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && exts.includes(extname(e.name)) && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));
}

function asset(body: Buffer, path: string): UiAsset {
  const type = TYPES[extname(path)] ?? 'application/octet-stream';
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return { body, gzip: gzipSync(body, { level: 9 }), type, etag };
}

/** Where each served URL path comes from: the app's build, its static files and three npm packages. */
async function sources(): Promise<Map<string, string>> {
  const appDir = join(root, 'dist', 'app');
  // Its build, also when the resolver prefers the TypeScript sources (the `source` condition of the tests).
  const clientDir = join(dirname(require.resolve('@nanogrid/client')), '..', 'dist');
  const map = new Map<string, string>();
  let appFiles: string[];
  try {
    appFiles = await walk(appDir, ['.js']);
  } catch (err) {
    throw new NanoGridError('INTERNAL', `the dashboard is not built (${appDir} is missing): run npm run build`, {
      cause: err,
    });
  }
  const urlOf = (base: string, file: string) => relative(base, file).split(sep).join('/');
  for (const f of appFiles) map.set(`app/${urlOf(appDir, f)}`, f);
  for (const f of await walk(clientDir, ['.js'])) map.set(`app/vendor/client/${urlOf(clientDir, f)}`, f);
  for (const f of await walk(join(root, 'static'), ['.css', '.svg'])) map.set(urlOf(join(root, 'static'), f), f);
  // htm's exports map names files it does not ship for `require`: go from its main file.
  map.set('app/vendor/htm-preact.js', join(dirname(require.resolve('htm')), '..', 'preact', 'standalone.module.js'));
  const uplotDir = dirname(require.resolve('uplot'));
  map.set('app/vendor/uplot.js', join(uplotDir, 'uPlot.esm.js'));
  map.set('uplot.css', join(uplotDir, 'uPlot.min.css'));
  return map;
}

/** Reads every file of the dashboard once; the build id changes whenever one of them does. */
export async function loadUiAssets(): Promise<UiAssets> {
  const files = new Map<string, UiAsset>();
  const build = createHash('sha256');
  for (const [url, path] of [...(await sources())].sort(([a], [b]) => a.localeCompare(b))) {
    const body = await readFile(path);
    files.set(url, asset(body, path));
    build.update(url).update(body);
  }
  const id = build.digest('hex').slice(0, 12);
  const html = await readFile(join(root, 'static', 'index.html'), 'utf8');
  const index = asset(Buffer.from(html.replaceAll('{{build}}', id)), 'index.html');
  return { build: id, files, index };
}

import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadUiAssets } from '../src/index.js';

describe('the dashboard build', () => {
  it('every module the app imports, statically or lazily, is a served file', async () => {
    const { files, index } = await loadUiAssets();
    const html = index.body.toString();
    const entry = /src="\/ui\/[0-9a-f]+\/(app\/main\.js)"/.exec(html)?.[1];
    expect(entry).toBe('app/main.js');
    const seen = new Set<string>();
    const queue = [entry!];
    while (queue.length) {
      const path = queue.pop()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const file = files.get(path);
      expect(file, `${path} is imported but not served`).toBeDefined();
      const code = file!.body.toString();
      // Static imports and re-exports start a line; a lazy one is `import('…')` anywhere.
      const specs =
        /^\s*(?:import\s*['"]([^'"]+)['"]|(?:import|export)\b[^'"\n;]*?\bfrom\s*['"]([^'"]+)['"])|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
      for (const m of code.matchAll(specs)) {
        const spec = (m[1] ?? m[2] ?? m[3])!;
        // A bare name (`preact`) would need an import map: the browser cannot load it.
        expect(spec, `${path} imports ${spec}`).toMatch(/^\.\.?\//);
        queue.push(posix.join(posix.dirname(path), spec));
      }
    }
    // The pages, the API client, Preact + htm and (lazily) uPlot are all reached.
    for (const f of ['app/app.js', 'app/vendor/client/index.js', 'app/vendor/htm-preact.js', 'app/vendor/uplot.js'])
      expect(seen.has(f), f).toBe(true);
    for (const href of html.matchAll(/href="\/ui\/[0-9a-f]+\/([^"]+)"/g))
      expect(files.has(href[1]!), href[1]).toBe(true);
  });

  it('the build id follows the files', async () => {
    const a = await loadUiAssets();
    const b = await loadUiAssets();
    expect(a.build).toBe(b.build);
    expect(a.index.body.toString()).toContain(`/ui/${a.build}/app/main.js`);
    const total = [...a.files.values()].reduce((n, f) => n + f.gzip.length, 0);
    console.log(`dashboard files: ${a.files.size}, ${(total / 1024).toFixed(1)} KiB gzipped in all (uPlot included)`);
  });
});

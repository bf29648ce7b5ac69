import { createHash } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createZip } from '@nanogrid/core';

const b64 = (data: Buffer): string => createHash('sha256').update(data).digest('base64url');

/**
 * A pure-Python wheel written by hand (a wheel is a zip with a dist-info
 * folder: METADATA, WHEEL, RECORD), so the test needs no build tool and no PyPI.
 */
export async function makeWheel(
  name: string,
  version: string,
  modules: Record<string, string>,
): Promise<{ file: string; data: Buffer }> {
  const dist = `${name}-${version}.dist-info`;
  const files: Record<string, string> = {
    ...modules,
    [`${dist}/METADATA`]: `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`,
    [`${dist}/WHEEL`]: 'Wheel-Version: 1.0\nGenerator: nanogrid-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
  };
  const record = Object.entries(files).map(
    ([path, text]) => `${path},sha256=${b64(Buffer.from(text))},${Buffer.byteLength(text)}`,
  );
  files[`${dist}/RECORD`] = `${[...record, `${dist}/RECORD,,`].join('\n')}\n`;
  const data = await createZip(Object.entries(files).map(([path, text]) => ({ path, data: text })));
  return { file: `${name}-${version}-py3-none-any.whl`, data };
}

export interface LocalIndex {
  /** `http://127.0.0.1:<port>/simple/` */
  url: string;
  /** Requests the index answered (paths). */
  requests: string[];
  close(): Promise<void>;
}

/**
 * A PEP 503 simple index over HTTP holding the given wheels. `host` 0.0.0.0
 * lets a container reach it through the Docker host's alias.
 */
export async function serveIndex(wheels: { file: string; data: Buffer }[], host = '127.0.0.1'): Promise<LocalIndex> {
  const requests: string[] = [];
  const byProject = new Map<string, { file: string; data: Buffer }[]>();
  for (const w of wheels) {
    const project = (w.file.split('-')[0] ?? '').toLowerCase().replace(/[-_.]+/g, '-');
    byProject.set(project, [...(byProject.get(project) ?? []), w]);
  }
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(path);
    const project = /^\/simple\/([^/]+)\/?$/.exec(path)?.[1];
    if (project && byProject.has(project)) {
      const links = byProject
        .get(project)!
        .map(
          (w) => `<a href="/files/${w.file}#sha256=${createHash('sha256').update(w.data).digest('hex')}">${w.file}</a>`,
        );
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(`<!DOCTYPE html><html><body>${links.join('\n')}</body></html>`);
      return;
    }
    const wheel = wheels.find((w) => path === `/files/${w.file}`);
    if (wheel) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(wheel.data);
      return;
    }
    res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/simple/`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

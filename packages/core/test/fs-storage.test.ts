import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fsStorage, type FsStorage } from '../src/defaults/fs-storage.js';
import { isNanoGridError } from '../src/errors.js';
import { decodeStorageKey } from '../src/defaults/storage-key.js';
import { testStorageBackend } from '../src/testing/storage-backend-suite.js';

/** What the host does for `/files/*`: check the signature, then stream the object. */
function serveFiles(storage: FsStorage): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const key = decodeStorageKey(url.pathname.replace(/^\/files\//, ''));
    if (!storage.verifySignedUrl(key, url.searchParams.get('expires') ?? '', url.searchParams.get('sig') ?? '')) {
      res.writeHead(403).end();
      return;
    }
    storage.get(key).then(
      (stream) => pipeline(stream, res),
      (err) => res.writeHead(isNanoGridError(err, 'NOT_FOUND') ? 404 : 500).end(),
    );
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

const dirs: string[] = [];
const tempDir = async () => {
  const d = await mkdtemp(join(tmpdir(), 'nanogrid-fs-'));
  dirs.push(d);
  return d;
};
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

testStorageBackend('fs-storage', async () => {
  const dir = await tempDir();
  const storage = fsStorage({ dir });
  const server = await serveFiles(storage);
  storage.setPublicUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  return { storage, cleanup: () => new Promise<void>((ok) => server.close(() => ok())) };
});

describe('fsStorage specifics', () => {
  let dir: string;
  let s: FsStorage;
  beforeEach(async () => {
    dir = await tempDir();
    s = fsStorage({ dir, publicUrl: 'http://files.example:9000/', secret: 'k' });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const parts = (link: string) => {
    const u = new URL(link);
    const key = u.pathname
      .replace(/^\/files\//, '')
      .split('/')
      .map(decodeURIComponent)
      .join('/');
    return { u, key, expires: u.searchParams.get('expires')!, sig: u.searchParams.get('sig')! };
  };

  it('defaults to .nanogrid/storage under the working directory', () => {
    expect(fsStorage().dir).toBe(resolve('.nanogrid/storage'));
  });

  it('signs links as publicUrl/files/<encoded key>?expires=<unix s>&sig=<hmac hex>', async () => {
    vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
    const link = await s.url('outputs/job 1/résumé.png', { expiresIn: 60 });
    const { u, key, expires, sig } = parts(link);
    expect(u.origin).toBe('http://files.example:9000');
    expect(u.pathname).toBe('/files/outputs/job%201/r%C3%A9sum%C3%A9.png');
    expect(key).toBe('outputs/job 1/résumé.png');
    expect(Number(expires)).toBe(Date.parse('2030-01-01T00:01:00Z') / 1000);
    expect(sig).toMatch(/^[0-9a-f]{64}$/);
    expect(s.verifySignedUrl(key, expires, sig)).toBe(true);
  });

  it('a link stops working when it expires (default one hour)', async () => {
    vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
    const { key, expires, sig } = parts(await s.url('a.txt'));
    vi.setSystemTime(new Date('2030-01-01T00:59:59Z'));
    expect(s.verifySignedUrl(key, expires, sig)).toBe(true);
    vi.setSystemTime(new Date('2030-01-01T01:00:00Z'));
    expect(s.verifySignedUrl(key, expires, sig)).toBe(false);
  });

  it('rejects tampered links: other key, later expiry, changed or malformed signature, other secret', async () => {
    const { key, expires, sig } = parts(await s.url('outputs/j/a.txt'));
    expect(s.verifySignedUrl('outputs/j/b.txt', expires, sig)).toBe(false);
    expect(s.verifySignedUrl(key, String(Number(expires) + 1), sig)).toBe(false);
    expect(s.verifySignedUrl(key, expires, (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1))).toBe(false);
    expect(s.verifySignedUrl(key, expires, sig.slice(2))).toBe(false);
    expect(s.verifySignedUrl(key, expires, `zz${sig.slice(2)}`)).toBe(false);
    expect(s.verifySignedUrl(key, `${expires}.0`, sig)).toBe(false);
    expect(fsStorage({ dir, secret: 'other' }).verifySignedUrl(key, expires, sig)).toBe(false);
    expect(fsStorage({ dir, secret: 'k' }).verifySignedUrl(key, expires, sig)).toBe(true);
    expect(fsStorage({ dir }).verifySignedUrl(key, expires, sig)).toBe(false);
  });

  it('setPublicUrl changes the base of later links', async () => {
    s.setPublicUrl('http://127.0.0.1:4321///');
    expect(await s.url('x/y.txt')).toMatch(
      /^http:\/\/127\.0\.0\.1:4321\/files\/x\/y\.txt\?expires=\d+&sig=[0-9a-f]{64}$/,
    );
  });

  it('a failed stream write leaves the previous version and no temp file', async () => {
    await s.put('k.txt', 'old');
    const broken = new Readable({
      read() {
        this.push(Buffer.alloc(1024, 1));
        this.destroy(new Error('connection reset'));
      },
    });
    await expect(s.put('k.txt', broken)).rejects.toThrow('connection reset');
    expect(await new Response(Readable.toWeb(await s.get('k.txt')) as ReadableStream).text()).toBe('old');
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
  });

  it('keeps objects under <dir>/objects and prunes folders a delete empties', async () => {
    await s.put('functions/f1/code.zip', 'zip', { contentType: 'application/zip' });
    expect(await readdir(join(dir, 'objects', 'functions', 'f1'))).toEqual(['code.zip']);
    expect((await s.head('functions/f1/code.zip'))?.contentType).toBe('application/zip');
    await s.put('functions/f1/code.zip', 'zip2');
    expect((await s.head('functions/f1/code.zip'))?.contentType).toBeUndefined();
    await s.delete('functions/f1/code.zip');
    expect(await readdir(join(dir, 'objects'))).toEqual([]);
  });

  it('a key that collides with a folder of other keys is BAD_REQUEST, not a crash', async () => {
    await s.put('a/b.txt', 'x');
    await expect(s.put('a', 'y')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(s.put('a/b.txt/c', 'y')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await s.delete('a');
    expect((await s.list('')).map((o) => o.key)).toEqual(['a/b.txt']);
  });

  it('list rejects a prefix that climbs out', async () => {
    await expect(s.list('../')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(s.list('/etc/')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('decodeStorageKey inverts the link path and refuses malformed escapes', async () => {
    const { u } = parts(await s.url('a b/ç%.txt'));
    expect(decodeStorageKey(u.pathname.slice('/files/'.length))).toBe('a b/ç%.txt');
    expect(() => decodeStorageKey('bad%zz')).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });

  it('url() rejects a bad key', async () => {
    await expect(s.url('../x')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});

import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FunctionStore } from '../engine/function-store.js';
import type { StorageBackend } from '../plugins/storage-backend.js';
import { uniqueId } from './helpers.js';

export interface StorageFixture<B extends StorageBackend = StorageBackend> {
  storage: B;
  cleanup?(): Promise<void>;
}

export type StorageFactory<B extends StorageBackend = StorageBackend> = () => Promise<B | StorageFixture<B>>;

export interface FetchedUrl {
  status: number;
  body: Buffer;
}

export interface StorageSuiteOptions<B extends StorageBackend = StorageBackend> {
  /** Downloads a link made by `url()`. @default global fetch */
  fetchUrl?(url: string, storage: B): Promise<FetchedUrl>;
  /** Size of the object streamed in and out by the large-object test. @default 20 MiB */
  largeObjectBytes?: number;
  /** Whether `head()` reports the content type given to `put()`. @default true */
  contentType?: boolean;
  /**
   * Whether concurrent puts of one key leave exactly one of the versions
   * (S3, GCS, the fs backend). A fake server that writes objects in place
   * (s3rver) can interleave them: the suite then checks only that the object
   * has a version's size. @default true
   */
  atomicPuts?: boolean;
}

function isFixture<B extends StorageBackend>(v: B | StorageFixture<B>): v is StorageFixture<B> {
  return 'storage' in v && typeof (v as StorageFixture<B>).storage?.put === 'function';
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

async function defaultFetch(url: string): Promise<FetchedUrl> {
  const res = await fetch(url);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

/**
 * The behaviour every StorageBackend must show, through the interface only.
 * Keys live under a random prefix per test, so a shared bucket is fine.
 */
export function testStorageBackend<B extends StorageBackend>(
  name: string,
  factory: StorageFactory<B>,
  opts: StorageSuiteOptions<B> = {},
): void {
  const large = opts.largeObjectBytes ?? 20 * 1024 * 1024;
  const fetchUrl = opts.fetchUrl ?? defaultFetch;

  describe(`StorageBackend conformance: ${name}`, () => {
    let fx: StorageFixture<B>;
    let s: B;
    let p: string;
    beforeEach(async () => {
      const made = await factory();
      fx = isFixture(made) ? made : { storage: made };
      s = fx.storage;
      p = uniqueId('conf');
    });
    afterEach(async () => {
      await s.close?.();
      await fx.cleanup?.();
    });

    it('put then get returns the same bytes for Buffer, Uint8Array, string and stream bodies', async () => {
      const bin = randomBytes(4096);
      await s.put(`${p}/buf.bin`, bin);
      await s.put(`${p}/u8.bin`, new Uint8Array([0, 1, 2, 255]));
      await s.put(`${p}/text.txt`, 'héllo wörld ✓\n');
      await s.put(`${p}/stream.txt`, Readable.from([Buffer.from('one,'), Buffer.from('two,'), Buffer.from('three')]));
      expect((await readAll(await s.get(`${p}/buf.bin`))).equals(bin)).toBe(true);
      expect([...(await readAll(await s.get(`${p}/u8.bin`)))]).toEqual([0, 1, 2, 255]);
      expect((await readAll(await s.get(`${p}/text.txt`))).toString('utf8')).toBe('héllo wörld ✓\n');
      expect((await readAll(await s.get(`${p}/stream.txt`))).toString()).toBe('one,two,three');
    });

    it('put over an existing key replaces it', async () => {
      await s.put(`${p}/k`, 'first version, longer');
      await s.put(`${p}/k`, 'second');
      expect((await readAll(await s.get(`${p}/k`))).toString()).toBe('second');
      expect((await s.head(`${p}/k`))?.size).toBe(6);
    });

    it('head reports size, time and content type; a missing key is undefined', async () => {
      await s.put(`${p}/meta.json`, '{"a":1}', { contentType: 'application/json' });
      const info = await s.head(`${p}/meta.json`);
      expect(info).toMatchObject({ key: `${p}/meta.json`, size: 7 });
      if (info?.modified) expect(Math.abs(info.modified.getTime() - Date.now())).toBeLessThan(10 * 60_000);
      if (opts.contentType !== false) expect(info?.contentType).toMatch(/^application\/json/);
      expect(await s.head(`${p}/missing.json`)).toBeUndefined();
    });

    it('get of a missing key throws NOT_FOUND', async () => {
      await expect(s.get(`${p}/nope.bin`)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await s.put(`${p}/dir/inner.txt`, 'x');
      await expect(s.get(`${p}/dir`)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('list(prefix) returns the matching objects sorted by key', async () => {
      const keys = [
        `${p}/b/2.txt`,
        `${p}/a/1.txt`,
        `${p}/a/0.txt`,
        `${p}/ab.txt`,
        `${p}/a/deep/x/y.txt`,
        `${p}-other/a.txt`,
      ];
      for (const [i, k] of keys.entries()) await s.put(k, 'x'.repeat(i + 1));
      const all = await s.list(`${p}/`);
      expect(all.map((o) => o.key)).toEqual([
        `${p}/a/0.txt`,
        `${p}/a/1.txt`,
        `${p}/a/deep/x/y.txt`,
        `${p}/ab.txt`,
        `${p}/b/2.txt`,
      ]);
      expect(all.find((o) => o.key === `${p}/b/2.txt`)?.size).toBe(1);
      expect((await s.list(`${p}/a/`)).map((o) => o.key)).toEqual([
        `${p}/a/0.txt`,
        `${p}/a/1.txt`,
        `${p}/a/deep/x/y.txt`,
      ]);
      expect((await s.list(`${p}/a`)).map((o) => o.key)).toEqual([
        `${p}/a/0.txt`,
        `${p}/a/1.txt`,
        `${p}/a/deep/x/y.txt`,
        `${p}/ab.txt`,
      ]);
      expect(await s.list(`${p}/zzz/`)).toEqual([]);
      await s.delete(`${p}-other/a.txt`);
    });

    it('delete removes an object and is idempotent', async () => {
      await s.put(`${p}/d/one.txt`, '1');
      await s.put(`${p}/d/two.txt`, '2');
      await s.delete(`${p}/d/one.txt`);
      await s.delete(`${p}/d/one.txt`);
      await s.delete(`${p}/never/was.txt`);
      expect(await s.head(`${p}/d/one.txt`)).toBeUndefined();
      await expect(s.get(`${p}/d/one.txt`)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect((await s.list(`${p}/`)).map((o) => o.key)).toEqual([`${p}/d/two.txt`]);
    });

    it('keys with nested folders, spaces and non-ASCII names round-trip', async () => {
      const keys = [`${p}/a b/c d/file (1).txt`, `${p}/ünï/çødé.json`, `${p}/x/y/z/w/v.bin`];
      for (const k of keys) await s.put(k, `body of ${k}`);
      for (const k of keys) expect((await readAll(await s.get(k))).toString()).toBe(`body of ${k}`);
      expect((await s.list(`${p}/`)).map((o) => o.key)).toEqual([...keys].sort());
    });

    it('rejects keys that climb out or are absolute with BAD_REQUEST', async () => {
      for (const bad of ['../escape.txt', `${p}/../../escape.txt`, '/etc/passwd', `${p}//x`, `${p}/./x`, '']) {
        await expect(s.put(bad, 'x'), bad).rejects.toMatchObject({ code: 'BAD_REQUEST' });
        await expect(s.get(bad), bad).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      }
    });

    it('url() gives a link that downloads the bytes without credentials', async () => {
      const key = `${p}/out dir/résumé 1.png`;
      const bytes = randomBytes(10_000);
      await s.put(key, bytes, { contentType: 'image/png' });
      const link = await s.url(key, { expiresIn: 600 });
      expect(link).toMatch(/^https?:\/\//);
      const res = await fetchUrl(link, s);
      expect(res.status).toBe(200);
      expect(res.body.equals(bytes)).toBe(true);
    });

    it('concurrent puts of one key leave one whole version', async () => {
      const bodies = Array.from({ length: 8 }, (_, i) => Buffer.alloc(256 * 1024, 65 + i));
      await Promise.all(bodies.map((b) => s.put(`${p}/race.bin`, b)));
      const got = await readAll(await s.get(`${p}/race.bin`));
      if (opts.atomicPuts === false) expect(got.length).toBe(256 * 1024);
      else expect(bodies.some((b) => b.equals(got))).toBe(true);
    });

    it('racing version claims never hand out one number twice (listings read their own writes)', async () => {
      // Function versions are numbered this way on every backend (FunctionStore.claimVersion).
      const store = new FunctionStore(s);
      const id = uniqueId('fn');
      const claimed = await Promise.all(Array.from({ length: 6 }, () => store.claimVersion(id)));
      expect(new Set(claimed).size).toBe(6);
      expect((await store.scan(id)).highest).toBeGreaterThanOrEqual(6);
      await store.deleteFunction(id);
      expect(await s.list(`functions/${id}/`)).toEqual([]);
    });

    it(`streams a ${Math.round(large / 1048576)} MiB object in and out`, async () => {
      const chunk = 64 * 1024;
      const sent = createHash('sha256');
      async function* source() {
        for (let done = 0; done < large; done += chunk) {
          const part = randomBytes(Math.min(chunk, large - done));
          sent.update(part);
          yield part;
        }
      }
      await s.put(`${p}/large.bin`, Readable.from(source()), { contentType: 'application/octet-stream' });
      expect((await s.head(`${p}/large.bin`))?.size).toBe(large);
      const got = createHash('sha256');
      let size = 0;
      for await (const part of await s.get(`${p}/large.bin`)) {
        got.update(part as Buffer);
        size += (part as Buffer).length;
      }
      expect(size).toBe(large);
      expect(got.digest('hex')).toBe(sent.digest('hex'));
      await s.delete(`${p}/large.bin`);
    }, 120_000);
  });
}

import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NanoGridError } from '@nanogrid/core';
import { gcsStorage } from '../src/index.js';
import { startGcsFake, type GcsFake } from './gcs-fake.js';
import { fakeGcsStorage, makeServiceAccount, tokenAuthClient, uniqueBucket } from './gcs-fixtures.js';

const MiB = 1024 * 1024;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

async function rejection(p: Promise<unknown>): Promise<NanoGridError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof NanoGridError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('gcsStorage on the GCS JSON-API fake', () => {
  const account = makeServiceAccount();
  let fake: GcsFake;
  beforeAll(async () => {
    fake = await startGcsFake({ signers: { [account.credentials.client_email]: account.publicKey } });
  });
  afterAll(async () => {
    await fake?.stop();
  });
  const since = (n: number) => fake.requests.slice(n);

  it('round-trips put/head/get/list/delete under a prefix, small bodies in one multipart request', async () => {
    const store = fakeGcsStorage(fake, { prefix: 'tenant-a/' });
    const before = fake.requests.length;
    await store.put('functions/f1/meta.json', '{"a":1}', { contentType: 'application/json' });
    expect(since(before).filter((r) => r.includes('uploadType=multipart'))).toHaveLength(1);
    await store.put('functions/f1/code.zip', Buffer.from([1, 2, 3]));
    await store.put('outputs/j1/out.txt', Readable.from([Buffer.from('hello '), Buffer.from('world')]));

    const info = await store.head('functions/f1/meta.json');
    expect(info).toMatchObject({ key: 'functions/f1/meta.json', size: 7, contentType: 'application/json' });
    expect(info?.modified).toBeInstanceOf(Date);
    expect((await readAll(await store.get('outputs/j1/out.txt'))).toString()).toBe('hello world');
    expect((await store.list('functions/')).map((o) => o.key)).toEqual([
      'functions/f1/code.zip',
      'functions/f1/meta.json',
    ]);
    await store.delete('functions/f1/code.zip');
    await store.delete('functions/f1/code.zip');
    expect(await store.head('functions/f1/code.zip')).toBeUndefined();
    expect((await store.list('')).map((o) => o.key)).toEqual(['functions/f1/meta.json', 'outputs/j1/out.txt']);
  });

  it('streams 20 MiB through a chunked resumable upload and reads it back intact', async () => {
    const store = fakeGcsStorage(fake, { chunkSize: 8 * MiB });
    const sent = createHash('sha256');
    async function* body() {
      for (let i = 0; i < 20; i++) {
        const chunk = Buffer.alloc(MiB, i + 1);
        sent.update(chunk);
        yield chunk;
      }
    }
    const before = fake.requests.length;
    await store.put('big/blob.bin', Readable.from(body()));
    const reqs = since(before);
    expect(reqs.filter((r) => r.startsWith('POST') && r.includes('uploadType=resumable'))).toHaveLength(1);
    expect(reqs.filter((r) => r.startsWith('PUT') && r.includes('upload_id='))).toHaveLength(3);
    expect((await store.head('big/blob.bin'))?.size).toBe(20 * MiB);
    const got = createHash('sha256');
    for await (const chunk of await store.get('big/blob.bin')) got.update(chunk as Uint8Array);
    expect(got.digest('hex')).toBe(sent.digest('hex'));
  });

  it('pages through list results', async () => {
    const store = fakeGcsStorage(fake, { listPageSize: 2 });
    const keys = ['k/1', 'k/2', 'k/3', 'k/4', 'k/5'];
    for (const key of keys) await store.put(key, key);
    const before = fake.requests.length;
    expect((await store.list('k/')).map((o) => o.key)).toEqual(keys);
    expect(since(before).filter((r) => r.startsWith('GET') && /\/o\?/.test(r))).toHaveLength(3);
  });

  it('hands out V4 signed URLs that download with fetch and are checked by the server', async () => {
    const store = fakeGcsStorage(fake, { credentials: account.credentials });
    await store.put('outputs/j9/report.csv', 'a,b\n1,2\n', { contentType: 'text/csv' });
    const link = await store.url('outputs/j9/report.csv', { expiresIn: 300 });
    expect(link.startsWith(fake.endpoint)).toBe(true);
    expect(link).toContain('X-Goog-Algorithm=GOOG4-RSA-SHA256');
    expect(link).toContain('X-Goog-Expires=300');
    const res = await fetch(link);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('a,b\n1,2\n');

    const tampered = await fetch(link.replace('X-Goog-Expires=300', 'X-Goog-Expires=600'));
    expect(tampered.status).toBe(403);
    await store.put('outputs/j9/secret.csv', 'no');
    const otherObject = await fetch(link.replace('report.csv', 'secret.csv'));
    expect(otherObject.status).toBe(403);
  });

  it('without credentials on an emulator: url() refuses to sign, unless unsignedUrls gives public links', async () => {
    const bucket = uniqueBucket('pub');
    const signedOnly = fakeGcsStorage(fake, { bucket });
    await signedOnly.put('out/a b.txt', 'public bytes');
    expect((await rejection(signedOnly.url('out/a b.txt'))).code).toBe('CONFIG_INVALID');

    const unsigned = fakeGcsStorage(fake, { bucket, unsignedUrls: true });
    const link = await unsigned.url('out/a b.txt');
    expect(link).not.toContain('X-Goog-Signature');
    const res = await fetch(link);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('public bytes');
  });

  it('honours STORAGE_EMULATOR_HOST when no apiEndpoint is given', async () => {
    const bucket = uniqueBucket('env');
    fake.createBucket(bucket);
    const saved = process.env.STORAGE_EMULATOR_HOST;
    process.env.STORAGE_EMULATOR_HOST = fake.endpoint;
    try {
      const store = gcsStorage({ bucket, projectId: 'test-project', maxRetries: 0 });
      const before = fake.requests.length;
      await store.put('via-env.txt', 'env');
      expect((await readAll(await store.get('via-env.txt'))).toString()).toBe('env');
      expect(since(before).length).toBeGreaterThanOrEqual(2);
    } finally {
      if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
      else process.env.STORAGE_EMULATOR_HOST = saved;
    }
  });

  it('throws NOT_FOUND for a missing object and BAD_REQUEST for keys that escape', async () => {
    const store = fakeGcsStorage(fake);
    expect((await rejection(store.get('absent.txt'))).code).toBe('NOT_FOUND');
    expect(await store.head('absent.txt')).toBeUndefined();
    expect((await rejection(store.put('../escape.txt', 'x'))).code).toBe('BAD_REQUEST');
    expect((await rejection(store.list('/abs'))).code).toBe('BAD_REQUEST');
  });

  it('check() passes with good settings and fails with CONFIG_INVALID for a missing bucket', async () => {
    await expect(fakeGcsStorage(fake).check()).resolves.toBeUndefined();
    const name = uniqueBucket('missing');
    const err = await rejection(gcsStorage({ bucket: name, apiEndpoint: fake.endpoint, maxRetries: 0 }).check());
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(name);
  });

  it('check() fails with BACKEND_UNAVAILABLE when nothing listens at the endpoint', async () => {
    const { createServer } = await import('node:net');
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const err = await rejection(
      gcsStorage({ bucket: 'nobody-home', apiEndpoint: `http://127.0.0.1:${port}`, maxRetries: 0 }).check(),
    );
    expect(err.code).toBe('BACKEND_UNAVAILABLE');
    expect(err.message).toContain('nobody-home');
  });
});

describe('gcsStorage credentials against a fake that demands a token', () => {
  let fake: GcsFake;
  beforeAll(async () => {
    fake = await startGcsFake({ accessToken: 'the-right-token' });
  });
  afterAll(async () => {
    await fake?.stop();
  });

  it('works with the right token', async () => {
    const store = fakeGcsStorage(fake, {
      authClient: tokenAuthClient('the-right-token'),
      useAuthWithCustomEndpoint: true,
    });
    await store.check();
    await store.put('x.txt', 'authorised');
    expect((await store.head('x.txt'))?.size).toBe(10);
  });

  it('check() fails with CONFIG_INVALID naming the backend, the bucket and the 401 on wrong credentials', async () => {
    const bucket = uniqueBucket('creds');
    const store = fakeGcsStorage(fake, {
      bucket,
      authClient: tokenAuthClient('a-wrong-token'),
      useAuthWithCustomEndpoint: true,
    });
    const err = await rejection(store.check());
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.plugin).toBe('gcs-storage');
    expect(err.message).toContain('gcs-storage');
    expect(err.message).toContain(bucket);
    expect(err.message).toContain('401');
    expect((await rejection(store.put('y.txt', 'nope'))).code).toBe('CONFIG_INVALID');
  });
});

import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NanoGridError } from '../errors.js';
import type { ObjectInfo, PutOptions, StorageBackend, StorageBody, UrlOptions } from '../plugins/storage-backend.js';
import { assertStorageKey, assertStoragePrefix, encodeStorageKey } from './storage-key.js';
import { createUrlSigner } from './url-signer.js';

export interface FsStorageOptions {
  /** Directory that holds the objects (`objects/`), content types (`meta/`) and partial writes (`tmp/`). @default '.nanogrid/storage' */
  dir?: string;
  /** Base URL of the host that serves `/files/*`, used in signed links. @default 'http://localhost:8080' */
  publicUrl?: string;
  /** HMAC key of signed links; set it when several processes serve the same directory. @default random per instance */
  secret?: string | Buffer;
  /** Plugin name shown in logs and errors. @default 'fs-storage' */
  name?: string;
}

export interface FsStorage extends StorageBackend {
  /** Absolute directory the objects live in. */
  readonly dir: string;
  /** True when `sig` signs `key` (decoded) until `expires` (unix seconds) and the link has not expired. Timing-safe. */
  verifySignedUrl(key: string, expires: string, sig: string): boolean;
  /** The host learns its port only once listening: links made afterwards use `url`. */
  setPublicUrl(url: string): void;
}

function parseContentType(json: string): string | undefined {
  try {
    const v = (JSON.parse(json) as { contentType?: unknown }).contentType;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined; // a torn sidecar only loses the content type
  }
}

const code = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code;

/**
 * Object storage over a local directory: atomic writes (temp file + rename),
 * streaming reads, and HMAC-signed links that the HTTP host serves under `/files/*`.
 */
export function fsStorage(opts: FsStorageOptions = {}): FsStorage {
  const name = opts.name ?? 'fs-storage';
  const root = resolve(opts.dir ?? '.nanogrid/storage');
  const objects = join(root, 'objects');
  const metaDir = join(root, 'meta');
  const tmpDir = join(root, 'tmp');
  const signer = createUrlSigner(opts.secret);
  let publicUrl = (opts.publicUrl ?? 'http://localhost:8080').replace(/\/+$/, '');

  const objectPath = (key: string) => {
    assertStorageKey(key, name);
    return join(objects, ...key.split('/'));
  };
  const metaPath = (key: string) => `${join(metaDir, ...key.split('/'))}.json`;
  const notFound = (key: string) =>
    new NanoGridError('NOT_FOUND', `no object at "${key}"`, { plugin: name, details: { key } });
  const conflict = (key: string, err: unknown) =>
    new NanoGridError('BAD_REQUEST', `key "${key}" collides with an existing object or folder of that name`, {
      plugin: name,
      cause: err,
      details: { key },
    });

  async function writeTemp(tmp: string, body: StorageBody): Promise<void> {
    if (typeof body === 'string' || body instanceof Uint8Array) {
      await writeFile(tmp, body, { flag: 'wx' });
    } else if (body && typeof (body as Readable).pipe === 'function') {
      await pipeline(body as Readable, createWriteStream(tmp, { flags: 'wx' }));
    } else {
      throw new NanoGridError('BAD_REQUEST', 'storage body must be a Buffer, Uint8Array, string or Readable', {
        plugin: name,
      });
    }
  }

  // The folder may be pruned by a concurrent delete between mkdir and rename: retry.
  async function moveInto(tmp: string, target: string, key: string): Promise<void> {
    for (let i = 0; ; i += 1) {
      try {
        await mkdir(dirname(target), { recursive: true });
        await rename(tmp, target);
        return;
      } catch (err) {
        const c = code(err);
        if (c === 'ENOENT' && i < 5) continue;
        if (c === 'EISDIR' || c === 'ENOTDIR' || c === 'EEXIST' || c === 'ENOTEMPTY') throw conflict(key, err);
        throw err;
      }
    }
  }

  /** Removes empty folders left by a delete, up to the objects root. */
  async function prune(from: string, stop: string): Promise<void> {
    for (let d = from; d.startsWith(`${stop}/`) && d !== stop; d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return;
      }
    }
  }

  async function walk(dir: string, prefix: string, out: ObjectInfo[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return;
      throw err;
    }
    await Promise.all(
      entries.map(async (e) => {
        const full = join(dir, e.name);
        const key = full
          .slice(objects.length + 1)
          .split(sep)
          .join('/');
        if (e.isDirectory()) {
          // Descend when keys below could match: the folder is inside the prefix or on its way.
          if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(full, prefix, out);
        } else if (e.isFile() && key.startsWith(prefix)) {
          try {
            const s = await stat(full);
            out.push({ key, size: s.size, modified: s.mtime });
          } catch (err) {
            if (code(err) !== 'ENOENT') throw err; // deleted while listing
          }
        }
      }),
    );
  }

  return {
    name,
    dir: root,
    async put(key: string, body: StorageBody, putOpts: PutOptions = {}) {
      const target = objectPath(key);
      await mkdir(tmpDir, { recursive: true });
      const tmp = join(tmpDir, randomUUID());
      try {
        await writeTemp(tmp, body);
        await moveInto(tmp, target, key);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
      const meta = metaPath(key);
      if (putOpts.contentType) {
        await mkdir(dirname(meta), { recursive: true });
        await writeFile(meta, JSON.stringify({ contentType: putOpts.contentType }));
      } else {
        await rm(meta, { force: true });
      }
    },
    async get(key: string) {
      const path = objectPath(key);
      let fh;
      try {
        fh = await open(path, 'r');
      } catch (err) {
        if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') throw notFound(key);
        throw err;
      }
      if (!(await fh.stat()).isFile()) {
        await fh.close();
        throw notFound(key);
      }
      return fh.createReadStream();
    },
    async head(key: string) {
      const path = objectPath(key);
      try {
        const s = await stat(path);
        if (!s.isFile()) return undefined;
        const info: ObjectInfo = { key, size: s.size, modified: s.mtime };
        const meta = await readFile(metaPath(key), 'utf8').catch(() => undefined);
        const contentType = meta ? parseContentType(meta) : undefined;
        if (contentType) info.contentType = contentType;
        return info;
      } catch (err) {
        if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return undefined;
        throw err;
      }
    },
    async list(prefix: string) {
      assertStoragePrefix(prefix, name);
      const slash = prefix.lastIndexOf('/');
      const start = slash < 0 ? objects : join(objects, ...prefix.slice(0, slash).split('/'));
      const out: ObjectInfo[] = [];
      await walk(start, prefix, out);
      return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
    async delete(key: string) {
      const path = objectPath(key);
      try {
        await unlink(path);
      } catch (err) {
        const c = code(err);
        if (c === 'ENOENT' || c === 'ENOTDIR') return;
        if (c === 'EISDIR' || c === 'EPERM') return; // a folder of other keys, not an object
        throw err;
      }
      await rm(metaPath(key), { force: true });
      await prune(dirname(path), objects);
      await prune(dirname(metaPath(key)), metaDir);
    },
    async url(key: string, urlOpts: UrlOptions = {}) {
      assertStorageKey(key, name);
      const expires = Math.floor(Date.now() / 1000) + (urlOpts.expiresIn ?? 3600);
      return `${publicUrl}/files/${encodeStorageKey(key)}?expires=${expires}&sig=${signer.sign(key, expires)}`;
    },
    verifySignedUrl(key: string, expires: string, sig: string) {
      return signer.verify(key, expires, sig);
    },
    setPublicUrl(url: string) {
      publicUrl = url.replace(/\/+$/, '');
    },
    async close() {},
  };
}

import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Bucket, File, Storage } from '@google-cloud/storage';
import type { ObjectInfo, PutOptions, StorageBackend, StorageBody, UrlOptions } from '@nanogrid/core';
import { assertStorageKey, assertStoragePrefix, NanoGridError } from '@nanogrid/core';
import { gcsError, gcsStatus, GCS_PLUGIN } from './gcs-errors.js';
import { GCS_DEFAULT_RESUMABLE_THRESHOLD, type GcsStorageOptions } from './gcs-storage-options.js';

/** A StorageBackend plus the start-up probe the host runs to fail fast on bad settings. */
export interface GcsStorage extends StorageBackend {
  /** Lists one object of the bucket; throws `CONFIG_INVALID` / `BACKEND_UNAVAILABLE` naming the bucket and the SDK error. */
  check(): Promise<void>;
  close(): Promise<void>;
}

interface FileMetadata {
  name?: string;
  size?: string | number;
  contentType?: string;
  updated?: string;
  generation?: string | number;
}

function info(key: string, meta: FileMetadata): ObjectInfo {
  return {
    key,
    size: Number(meta.size ?? 0),
    ...(meta.contentType ? { contentType: meta.contentType } : {}),
    ...(meta.updated ? { modified: new Date(meta.updated) } : {}),
  };
}

function knownSize(body: StorageBody): number | undefined {
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Uint8Array) return body.byteLength;
  return undefined;
}

/** Object storage in a Google Cloud Storage bucket (or an emulator). The SDK loads on first use. */
export function gcsStorage(opts: GcsStorageOptions): GcsStorage {
  const bucketName = opts.bucket;
  if (!bucketName)
    throw new NanoGridError('CONFIG_INVALID', `${GCS_PLUGIN}: option "bucket" is required`, { plugin: GCS_PLUGIN });
  const trimmed = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
  const root = trimmed ? `${trimmed}/` : '';
  const hasCredentials = Boolean(opts.credentials || opts.keyFilename || opts.authClient);
  let loading: Promise<{ storage: Storage; bucket: Bucket }> | undefined;

  async function load(): Promise<{ storage: Storage; bucket: Bucket }> {
    const { Storage: StorageClass } = await import('@google-cloud/storage');
    const maxRetries = opts.maxRetries ?? 3;
    const storage = new StorageClass({
      ...(opts.projectId ? { projectId: opts.projectId } : {}),
      ...(opts.keyFilename ? { keyFilename: opts.keyFilename } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      ...(opts.authClient ? { authClient: opts.authClient } : {}),
      ...(opts.apiEndpoint ? { apiEndpoint: opts.apiEndpoint } : {}),
      ...(opts.useAuthWithCustomEndpoint !== undefined
        ? { useAuthWithCustomEndpoint: opts.useAuthWithCustomEndpoint }
        : {}),
      retryOptions: { autoRetry: maxRetries > 0, maxRetries },
    });
    return { storage, bucket: storage.bucket(bucketName) };
  }

  async function bucket(): Promise<Bucket> {
    loading ??= load().catch((err: unknown) => {
      loading = undefined;
      throw err;
    });
    return (await loading).bucket;
  }

  async function file(key: string): Promise<File> {
    assertStorageKey(key, GCS_PLUGIN);
    return (await bucket()).file(root + key);
  }

  /** True when talking to an emulator without credentials: nothing to sign a URL with. */
  function emulatorWithoutCredentials(): boolean {
    const custom = Boolean(opts.apiEndpoint || process.env.STORAGE_EMULATOR_HOST);
    return custom && !hasCredentials && !opts.useAuthWithCustomEndpoint;
  }

  return {
    name: GCS_PLUGIN,

    async put(key: string, body: StorageBody, putOpts?: PutOptions): Promise<void> {
      const f = await file(key);
      const size = knownSize(body);
      const contentType = putOpts?.contentType ?? 'application/octet-stream';
      // Small bodies of known size: one multipart request. Streams and large bodies: a resumable
      // session, so a dropped connection resumes instead of starting over.
      const resumable = size === undefined || size >= (opts.resumableThreshold ?? GCS_DEFAULT_RESUMABLE_THRESHOLD);
      const source =
        body instanceof Readable
          ? body
          : Readable.from([typeof body === 'string' ? Buffer.from(body) : Buffer.from(body)]);
      try {
        await pipeline(
          source,
          f.createWriteStream({
            resumable,
            contentType,
            metadata: { contentType },
            ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}),
          }),
        );
      } catch (err) {
        throw gcsError(err, bucketName, resumable ? 'resumable upload' : 'upload', root + key);
      }
    },

    async get(key: string): Promise<Readable> {
      const f = await file(key);
      let meta: FileMetadata;
      try {
        [meta] = (await f.getMetadata()) as unknown as [FileMetadata];
      } catch (err) {
        if (gcsStatus(err) === 404) {
          throw new NanoGridError('NOT_FOUND', `${GCS_PLUGIN}: no object "${key}" in bucket "${bucketName}"`, {
            plugin: GCS_PLUGIN,
            details: { key },
          });
        }
        throw gcsError(err, bucketName, 'get metadata', root + key);
      }
      // Read exactly the generation we just saw, so a concurrent overwrite can't mix versions.
      const pinned = meta.generation === undefined ? f : f.bucket.file(f.name, { generation: meta.generation });
      const stream = pinned.createReadStream();
      // Pass SDK errors on as NanoGridErrors; pipe keeps the download lazy and back-pressured.
      const out = new PassThrough();
      stream.on('error', (err) => out.destroy(gcsError(err, bucketName, 'download', root + key)));
      out.on('close', () => stream.destroy());
      return stream.pipe(out);
    },

    async head(key: string): Promise<ObjectInfo | undefined> {
      const f = await file(key);
      try {
        const [meta] = (await f.getMetadata()) as unknown as [FileMetadata];
        return info(key, meta);
      } catch (err) {
        if (gcsStatus(err) === 404) return undefined;
        throw gcsError(err, bucketName, 'get metadata', root + key);
      }
    },

    async list(prefix: string): Promise<ObjectInfo[]> {
      assertStoragePrefix(prefix, GCS_PLUGIN);
      const b = await bucket();
      const found: ObjectInfo[] = [];
      let pageToken: string | undefined;
      try {
        do {
          const [files, next] = await b.getFiles({
            prefix: root + prefix,
            autoPaginate: false,
            maxResults: opts.listPageSize ?? 1000,
            ...(pageToken ? { pageToken } : {}),
          });
          for (const f of files)
            if (f.name.startsWith(root)) found.push(info(f.name.slice(root.length), f.metadata as FileMetadata));
          pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken;
        } while (pageToken);
      } catch (err) {
        throw gcsError(err, bucketName, 'list', root + prefix);
      }
      return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },

    async delete(key: string): Promise<void> {
      const f = await file(key);
      try {
        await f.delete({ ignoreNotFound: true });
      } catch (err) {
        throw gcsError(err, bucketName, 'delete', root + key);
      }
    },

    async url(key: string, urlOpts?: UrlOptions): Promise<string> {
      const f = await file(key);
      if (opts.unsignedUrls) return f.publicUrl();
      if (emulatorWithoutCredentials()) {
        // Checked up front: asking the SDK would make it hunt for default credentials.
        throw new NanoGridError(
          'CONFIG_INVALID',
          `${GCS_PLUGIN}: cannot sign a URL for bucket "${bucketName}": an emulator endpoint without credentials has no key to sign with; ` +
            'give credentials/keyFilename, or set unsignedUrls: true to hand out public links',
          { plugin: GCS_PLUGIN, details: { bucket: bucketName, key } },
        );
      }
      try {
        const [signed] = await f.getSignedUrl({
          version: 'v4',
          action: 'read',
          expires: Date.now() + (urlOpts?.expiresIn ?? 3600) * 1000,
        });
        return signed;
      } catch (err) {
        throw gcsError(
          err,
          bucketName,
          'sign URL (needs a service-account key or iam.serviceAccounts.signBlob)',
          root + key,
        );
      }
    },

    async check(): Promise<void> {
      const b = await bucket();
      try {
        await b.getFiles({ maxResults: 1, autoPaginate: false, ...(root ? { prefix: root } : {}) });
      } catch (err) {
        throw gcsError(err, bucketName, 'check (list objects)');
      }
    },

    async close(): Promise<void> {
      loading = undefined; // the SDK keeps no sockets open between requests worth closing
    },
  };
}

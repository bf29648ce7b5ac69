import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ObjectInfo, PutOptions, StorageBackend, StorageBody, UrlOptions } from '@nanogrid/core';
import { NanoGridError } from '@nanogrid/core';
import { isS3NotFound, s3Error, S3_PLUGIN, sdkName, sdkStatus } from './s3-errors.js';
import { S3_DEFAULT_PART_SIZE, S3_MIN_PART_SIZE, type S3StorageOptions } from './s3-storage-options.js';
import { joinKey, joinPrefix, normalizePrefix } from './s3-keys.js';

/** What the lazily imported SDK modules give us, loaded once per backend. */
interface S3Sdk {
  client: S3Client;
  s3: typeof import('@aws-sdk/client-s3');
  Upload: typeof import('@aws-sdk/lib-storage').Upload;
  getSignedUrl: typeof import('@aws-sdk/s3-request-presigner').getSignedUrl;
}

/** A StorageBackend plus the start-up probe the host runs to fail fast on bad settings. */
export interface S3Storage extends StorageBackend {
  /** HeadBucket; throws `CONFIG_INVALID` / `BACKEND_UNAVAILABLE` naming the bucket and the reason. */
  check(): Promise<void>;
  /** Releases the SDK's sockets. */
  close(): Promise<void>;
}

/** Object storage in an S3 bucket (AWS or any S3-compatible server). The SDK loads on first use. */
export function s3Storage(opts: S3StorageOptions): S3Storage {
  const bucket = opts.bucket;
  if (!bucket)
    throw new NanoGridError('CONFIG_INVALID', `${S3_PLUGIN}: option "bucket" is required`, { plugin: S3_PLUGIN });
  const partSize = opts.partSize ?? S3_DEFAULT_PART_SIZE;
  if (partSize < S3_MIN_PART_SIZE) {
    throw new NanoGridError(
      'CONFIG_INVALID',
      `${S3_PLUGIN}: partSize must be at least 5 MiB (S3's smallest part), got ${partSize}`,
      {
        plugin: S3_PLUGIN,
      },
    );
  }
  const root = normalizePrefix(opts.prefix);
  let loading: Promise<S3Sdk> | undefined;

  async function load(): Promise<S3Sdk> {
    const [s3, storage, presigner] = await Promise.all([
      import('@aws-sdk/client-s3'),
      import('@aws-sdk/lib-storage'),
      import('@aws-sdk/s3-request-presigner'),
    ]);
    const checksums = opts.checksums ?? (opts.endpoint ? 'when_required' : 'when_supported');
    const client = new s3.S3Client({
      region: opts.region ?? process.env.AWS_REGION ?? 'us-east-1',
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      forcePathStyle: opts.forcePathStyle ?? false,
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      maxAttempts: opts.maxAttempts ?? 3,
      requestChecksumCalculation: checksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
      responseChecksumValidation: checksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
    });
    const sdk: S3Sdk = { client, s3, Upload: storage.Upload, getSignedUrl: presigner.getSignedUrl };
    if (opts.createBucket) await ensureBucket(sdk);
    return sdk;
  }

  async function ensureBucket({ client, s3 }: S3Sdk): Promise<void> {
    try {
      await client.send(new s3.HeadBucketCommand({ Bucket: bucket }));
    } catch (err) {
      if (sdkName(err) !== 'NotFound' && sdkName(err) !== 'NoSuchBucket') throw s3Error(err, bucket, 'HeadBucket');
      try {
        await client.send(new s3.CreateBucketCommand({ Bucket: bucket }));
      } catch (createErr) {
        // Another process may have created it between our HEAD and our PUT.
        const name = sdkName(createErr);
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists')
          throw s3Error(createErr, bucket, 'CreateBucket');
      }
    }
  }

  /**
   * A HEAD answer has no body, so its error is a bare status. For a 4xx one
   * GET of an absent key asks again: its XML error code tells a wrong key
   * (InvalidAccessKeyId) from missing permissions (AccessDenied) and the like.
   */
  async function explainHeadBucket({ client, s3 }: S3Sdk, err: unknown): Promise<NanoGridError> {
    const status = sdkStatus(err);
    if (status === 404 || sdkName(err) === 'NotFound') {
      return s3Error(
        Object.assign(
          new Error('the bucket does not exist (create it, or set createBucket: true on a development server)'),
          {
            name: 'NoSuchBucket',
            $metadata: { httpStatusCode: 404 },
          },
        ),
        bucket,
        'check (HeadBucket)',
      );
    }
    if (status === 301) {
      return s3Error(
        Object.assign(new Error('the bucket is in another region: set "region" to the bucket\'s region'), {
          name: 'PermanentRedirect',
          $metadata: { httpStatusCode: 301 },
        }),
        bucket,
        'check (HeadBucket)',
      );
    }
    if (status === undefined || status < 400 || status >= 500) return s3Error(err, bucket, 'check (HeadBucket)');
    try {
      await client.send(new s3.GetObjectCommand({ Bucket: bucket, Key: joinKey(root, '.nanogrid-check') }));
    } catch (why) {
      if (!isS3NotFound(why)) return s3Error(why, bucket, `check (HeadBucket: HTTP ${status})`);
    }
    return s3Error(err, bucket, 'check (HeadBucket)');
  }

  function sdk(): Promise<S3Sdk> {
    loading ??= load().catch((err: unknown) => {
      loading = undefined; // let the next call try again (the server may come up later)
      throw err;
    });
    return loading;
  }

  return {
    name: S3_PLUGIN,

    async put(key: string, body: StorageBody, putOpts?: PutOptions): Promise<void> {
      const { client, Upload } = await sdk();
      const Key = joinKey(root, key);
      // Upload sends one PUT for small bodies and a multipart upload for anything past one part,
      // reading a stream part by part so memory stays near partSize × queueSize.
      const upload = new Upload({
        client,
        params: { Bucket: bucket, Key, Body: body, ContentType: putOpts?.contentType ?? 'application/octet-stream' },
        partSize,
        queueSize: opts.queueSize ?? 4,
        leavePartsOnError: false,
      });
      try {
        await upload.done();
      } catch (err) {
        throw s3Error(err, bucket, 'Upload', Key);
      }
    },

    async get(key: string): Promise<Readable> {
      const { client, s3 } = await sdk();
      const Key = joinKey(root, key);
      try {
        const out = await client.send(new s3.GetObjectCommand({ Bucket: bucket, Key }));
        if (!out.Body) return Readable.from([]);
        // In Node the body is an IncomingMessage: a real Readable, streamed as it arrives.
        return out.Body as Readable;
      } catch (err) {
        if (isS3NotFound(err)) {
          throw new NanoGridError('NOT_FOUND', `${S3_PLUGIN}: no object "${key}" in bucket "${bucket}"`, {
            plugin: S3_PLUGIN,
            details: { key },
          });
        }
        throw s3Error(err, bucket, 'GetObject', Key);
      }
    },

    async head(key: string): Promise<ObjectInfo | undefined> {
      const { client, s3 } = await sdk();
      const Key = joinKey(root, key);
      try {
        const out = await client.send(new s3.HeadObjectCommand({ Bucket: bucket, Key }));
        return {
          key,
          size: out.ContentLength ?? 0,
          ...(out.ContentType ? { contentType: out.ContentType } : {}),
          ...(out.LastModified ? { modified: out.LastModified } : {}),
        };
      } catch (err) {
        if (isS3NotFound(err)) return undefined;
        throw s3Error(err, bucket, 'HeadObject', Key);
      }
    },

    async list(prefix: string): Promise<ObjectInfo[]> {
      const { client, s3 } = await sdk();
      const Prefix = joinPrefix(root, prefix);
      const found: ObjectInfo[] = [];
      let ContinuationToken: string | undefined;
      try {
        do {
          const page = await client.send(
            new s3.ListObjectsV2Command({
              Bucket: bucket,
              Prefix,
              MaxKeys: opts.listPageSize ?? 1000,
              ...(ContinuationToken ? { ContinuationToken } : {}),
            }),
          );
          for (const obj of page.Contents ?? []) {
            if (obj.Key === undefined || !obj.Key.startsWith(root)) continue;
            found.push({
              key: obj.Key.slice(root.length),
              size: obj.Size ?? 0,
              ...(obj.LastModified ? { modified: obj.LastModified } : {}),
            });
          }
          ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (ContinuationToken);
      } catch (err) {
        throw s3Error(err, bucket, 'ListObjectsV2', Prefix);
      }
      return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },

    async delete(key: string): Promise<void> {
      const { client, s3 } = await sdk();
      const Key = joinKey(root, key);
      try {
        await client.send(new s3.DeleteObjectCommand({ Bucket: bucket, Key }));
      } catch (err) {
        if (isS3NotFound(err)) return;
        throw s3Error(err, bucket, 'DeleteObject', Key);
      }
    },

    async url(key: string, urlOpts?: UrlOptions): Promise<string> {
      const { client, s3, getSignedUrl } = await sdk();
      const Key = joinKey(root, key);
      try {
        return await getSignedUrl(client, new s3.GetObjectCommand({ Bucket: bucket, Key }), {
          expiresIn: urlOpts?.expiresIn ?? 3600,
        });
      } catch (err) {
        throw s3Error(err, bucket, 'presign GetObject', Key);
      }
    },

    async check(): Promise<void> {
      const sdkLoaded = await sdk();
      try {
        // What S3 documents for "does this bucket exist and may I use it": no listing, no body.
        await sdkLoaded.client.send(new sdkLoaded.s3.HeadBucketCommand({ Bucket: bucket }));
      } catch (err) {
        throw await explainHeadBucket(sdkLoaded, err);
      }
    },

    async close(): Promise<void> {
      const current = loading;
      loading = undefined;
      if (!current) return;
      try {
        (await current).client.destroy();
      } catch {
        // It never connected; nothing to release.
      }
    },
  };
}

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { s3Storage, type S3Storage, type S3StorageOptions } from '../src/index.js';

/** s3rver's fixed access key. It checks the key id (unknown → InvalidAccessKeyId) but not SigV4 signatures. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface LocalS3 {
  endpoint: string;
  /** `METHOD url` of every request the server has seen, complete up to the call. */
  requests(): Promise<string[]>;
  stop(): Promise<void>;
}

export interface LocalS3Options {
  /**
   * Start Node with OpenSSL's legacy provider: s3rver builds ListObjectsV2
   * continuation tokens with DES, so without it any listing longer than one
   * page answers 500. Off only to show what a plain start breaks. @default true
   */
  legacyOpenSsl?: boolean;
}

/** Starts a real s3rver process on a random port with its own temp directory. */
export async function startLocalS3(opts: LocalS3Options = {}): Promise<LocalS3> {
  const directory = await mkdtemp(join(tmpdir(), 'nanogrid-s3rver-'));
  const script = fileURLToPath(new URL('./s3rver-main.mjs', import.meta.url));
  const flags = opts.legacyOpenSsl === false ? [] : ['--openssl-legacy-provider'];
  const child: ChildProcess = spawn(process.execPath, [...flags, script, directory], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const seen: string[] = [];
  const waiters: { mark: string; resolve: () => void }[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`s3rver exited early with code ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as { port?: number; req?: string };
      if (msg.port !== undefined) resolve(msg.port);
      if (msg.req === undefined) return;
      seen.push(msg.req);
      for (const w of waiters.filter((x) => msg.req!.includes(x.mark))) w.resolve();
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    async requests() {
      // Request lines travel over a pipe, responses over TCP: send a marker request and wait
      // for its line, so every earlier request's line is in too.
      const mark = `ng-mark-${randomBytes(4).toString('hex')}`;
      const arrived = new Promise<void>((resolve) => waiters.push({ mark, resolve }));
      await fetch(`${endpoint}/${mark}`).then((r) => r.arrayBuffer());
      await arrived;
      return seen.filter((r) => !r.includes('ng-mark-'));
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** A bucket name no other test uses (S3 rules: 3–63 lowercase letters, digits, dashes). */
export function uniqueBucket(tag = 't'): string {
  return `ng-${tag}-${randomBytes(5).toString('hex')}`;
}

/** An s3Storage on the local server, creating its bucket on first use. */
export function localS3Storage(s3: LocalS3, extra: Partial<S3StorageOptions> = {}): S3Storage {
  return s3Storage({
    bucket: uniqueBucket(),
    endpoint: s3.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: S3RVER_CREDENTIALS,
    createBucket: true,
    ...extra,
  });
}

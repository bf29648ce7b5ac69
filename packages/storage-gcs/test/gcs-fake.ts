// A small fake of the GCS JSON API, only the endpoints @google-cloud/storage v7 calls for what
// gcsStorage does: simple (multipart/related) and resumable uploads, media download, metadata,
// list with prefix/pageToken, delete, and V4 signed-URL downloads checked against the signer's
// public key. No GCS emulator installs here, so the tests run the real SDK against this.
import { createHash, createVerify, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CRC32C } from '@google-cloud/storage';

interface StoredObject {
  data: Buffer;
  contentType: string;
  generation: number;
  updated: Date;
}

interface ResumableSession {
  bucket: string;
  name: string;
  contentType: string;
  parts: Buffer[];
  received: number;
}

export interface GcsFakeOptions {
  /** When set, JSON-API calls need `Authorization: Bearer <token>` (else 401, as GCS answers bad credentials). */
  accessToken?: string;
  /** Public keys of service accounts (by client_email) whose V4 signed URLs are accepted. */
  signers?: Record<string, KeyObject>;
}

export interface GcsFake {
  endpoint: string;
  createBucket(name: string): void;
  /** `METHOD path?query` of every request, for asserting which upload path the SDK took. */
  requests: string[];
  stop(): Promise<void>;
}

/** RFC 3986 encoding, as the V4 signer uses for canonical query strings. */
const strict = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function crc32c(data: Buffer): string {
  const c = new CRC32C();
  c.update(data);
  return c.toString();
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
  res.end(JSON.stringify(body));
}

function apiError(res: ServerResponse, status: number, reason: string, message: string): void {
  json(res, status, { error: { code: status, message, errors: [{ message, domain: 'global', reason }] } });
}

/** Splits a multipart/related body (metadata JSON part, then media part). */
function parseRelated(body: Buffer, contentType: string): { meta: Record<string, unknown>; media: Buffer } {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) throw new Error('no boundary');
  const delim = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let at = body.indexOf(delim);
  while (at !== -1) {
    const next = body.indexOf(delim, at + delim.length);
    if (next === -1) break;
    parts.push(body.subarray(at + delim.length, next));
    at = next;
  }
  const content = (part: Buffer) => {
    const start = part.indexOf('\r\n\r\n') + 4;
    const end = part.subarray(-2).toString() === '\r\n' ? part.length - 2 : part.length;
    return part.subarray(start, end);
  };
  const [metaPart, mediaPart] = parts;
  if (!metaPart || !mediaPart) throw new Error('expected two parts');
  return { meta: JSON.parse(content(metaPart).toString('utf8')) as Record<string, unknown>, media: content(mediaPart) };
}

export async function startGcsFake(opts: GcsFakeOptions = {}): Promise<GcsFake> {
  const buckets = new Map<string, Map<string, StoredObject>>();
  const sessions = new Map<string, ResumableSession>();
  const requests: string[] = [];
  let generation = 1_700_000_000_000_000;
  let endpoint = '';

  const resource = (bucket: string, name: string, o: StoredObject) => ({
    kind: 'storage#object',
    id: `${bucket}/${name}/${o.generation}`,
    name,
    bucket,
    generation: String(o.generation),
    metageneration: '1',
    contentType: o.contentType,
    size: String(o.data.length),
    md5Hash: createHash('md5').update(o.data).digest('base64'),
    crc32c: crc32c(o.data),
    timeCreated: o.updated.toISOString(),
    updated: o.updated.toISOString(),
    storageClass: 'STANDARD',
    mediaLink: `${endpoint}/download/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}?generation=${o.generation}&alt=media`,
  });

  const store = (bucket: string, name: string, data: Buffer, contentType: string): StoredObject => {
    const o = { data, contentType, generation: ++generation, updated: new Date() };
    buckets.get(bucket)!.set(name, o);
    return o;
  };

  const sendMedia = (res: ServerResponse, o: StoredObject) => {
    res.writeHead(200, {
      'content-type': o.contentType,
      'content-length': String(o.data.length),
      'x-goog-generation': String(o.generation),
      'x-goog-stored-content-encoding': 'identity',
      'x-goog-hash': `crc32c=${crc32c(o.data)},md5=${createHash('md5').update(o.data).digest('base64')}`,
    });
    res.end(o.data);
  };

  /** Checks a V4 signed URL the way GCS does: rebuild the canonical request, verify the RSA signature. */
  const verifySigned = (req: IncomingMessage, path: string, query: URLSearchParams): string | undefined => {
    const credential = query.get('X-Goog-Credential') ?? '';
    const [email, ...scope] = credential.split('/');
    const key = opts.signers?.[email ?? ''];
    if (!key) return 'unknown signer';
    const date = query.get('X-Goog-Date') ?? '';
    const iso = date.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z');
    if (Date.parse(iso) + Number(query.get('X-Goog-Expires')) * 1000 < Date.now()) return 'expired';
    const canonicalQuery = [...query.entries()]
      .filter(([k]) => k !== 'X-Goog-Signature')
      .map(([k, v]) => [strict(k), strict(v)])
      .sort((a, b) => (a[0]! < b[0]! ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const canonical = [
      'GET',
      path,
      canonicalQuery,
      `host:${host}\n`,
      query.get('X-Goog-SignedHeaders'),
      'UNSIGNED-PAYLOAD',
    ].join('\n');
    const toSign = [
      'GOOG4-RSA-SHA256',
      date,
      scope.join('/'),
      createHash('sha256').update(canonical).digest('hex'),
    ].join('\n');
    const ok = createVerify('RSA-SHA256')
      .update(toSign)
      .verify(key, Buffer.from(query.get('X-Goog-Signature') ?? '', 'hex'));
    return ok ? undefined : 'signature does not match';
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const rawPath = (req.url ?? '/').split('?')[0]!;
    requests.push(`${req.method} ${req.url}`);
    const q = url.searchParams;
    // STORAGE_EMULATOR_HOST makes the SDK drop the /storage/v1 prefix: accept both.
    const path = rawPath.replace(/^\/storage\/v1(?=\/b\/)/, '');

    // Signed and public links: GET /{bucket}/{object}, no bearer token needed.
    const isApi = /^\/(b|upload|download)\//.test(path);
    if (!isApi && req.method === 'GET') {
      const [, bucket, rest] = /^\/([^/]+)\/(.+)$/.exec(rawPath) ?? [];
      if (q.has('X-Goog-Signature')) {
        const why = verifySigned(req, rawPath, q);
        if (why) return void res.writeHead(403, { 'content-type': 'text/plain' }).end(`SignatureDoesNotMatch: ${why}`);
      }
      const o = bucket && rest ? buckets.get(bucket)?.get(decodeURIComponent(rest)) : undefined;
      if (!o) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('NoSuchKey');
      return sendMedia(res, o);
    }

    if (opts.accessToken && req.headers.authorization !== `Bearer ${opts.accessToken}`) {
      await readBody(req);
      return apiError(res, 401, 'authError', 'Invalid Credentials');
    }

    // Resumable session chunks: PUT /upload/storage/v1/b/{bucket}/o?upload_id=…
    const sessionId = q.get('upload_id');
    if (req.method === 'PUT' && sessionId) {
      const s = sessions.get(sessionId);
      if (!s) return apiError(res, 404, 'notFound', 'No such upload session');
      const body = await readBody(req);
      const range = /^bytes (\*|(\d+)-(\d+|\*))\/(\d+|\*)$/.exec(req.headers['content-range'] ?? 'bytes */*');
      if (range?.[1] !== '*') {
        s.parts.push(body);
        s.received += body.length;
      }
      const total = range?.[4];
      const done =
        range?.[3] === '*' ? range[1] !== '*' : total !== undefined && total !== '*' && Number(total) === s.received;
      if (!done) {
        return void res.writeHead(308, s.received > 0 ? { range: `bytes=0-${s.received - 1}` } : {}).end();
      }
      sessions.delete(sessionId);
      return json(res, 200, resource(s.bucket, s.name, store(s.bucket, s.name, Buffer.concat(s.parts), s.contentType)));
    }

    const m = /^\/(?:upload\/storage\/v1\/|download\/storage\/v1\/)?b\/([^/]+)(?:\/o(?:\/(.+))?)?$/.exec(path);
    const objects = m ? buckets.get(m[1]!) : undefined;
    if (!m || !objects) {
      await readBody(req);
      return apiError(
        res,
        404,
        'notFound',
        m ? 'The specified bucket does not exist.' : `No route ${req.method} ${path}`,
      );
    }
    const bucket = m[1]!;
    const name = m[2] === undefined ? undefined : decodeURIComponent(m[2]);

    if (req.method === 'POST' && path.startsWith('/upload/')) {
      const body = await readBody(req);
      const type = q.get('uploadType');
      if (type === 'multipart') {
        const { meta, media } = parseRelated(body, req.headers['content-type'] ?? '');
        const objName = String(meta.name ?? q.get('name'));
        return json(
          res,
          200,
          resource(
            bucket,
            objName,
            store(bucket, objName, media, String(meta.contentType ?? 'application/octet-stream')),
          ),
        );
      }
      if (type === 'resumable') {
        const meta = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
        const id = randomBytes(8).toString('hex');
        const contentType = String(
          meta.contentType ?? req.headers['x-upload-content-type'] ?? 'application/octet-stream',
        );
        sessions.set(id, { bucket, name: String(meta.name ?? q.get('name')), contentType, parts: [], received: 0 });
        return json(
          res,
          200,
          {},
          { location: `${endpoint}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&upload_id=${id}` },
        );
      }
      return apiError(res, 400, 'invalid', `uploadType ${type} not supported by the fake`);
    }

    if (req.method === 'GET' && name === undefined && m[0].endsWith('/o')) {
      const prefix = q.get('prefix') ?? '';
      const max = Number(q.get('maxResults') ?? 1000);
      const names = [...objects.keys()].filter((n) => n.startsWith(prefix)).sort();
      const start = q.get('pageToken')
        ? names.findIndex((n) => n > Buffer.from(q.get('pageToken')!, 'base64url').toString())
        : 0;
      const page = start === -1 ? [] : names.slice(start, start + max);
      const more = start !== -1 && start + max < names.length;
      return json(res, 200, {
        kind: 'storage#objects',
        items: page.map((n) => resource(bucket, n, objects.get(n)!)),
        ...(more ? { nextPageToken: Buffer.from(page[page.length - 1]!).toString('base64url') } : {}),
      });
    }
    if (req.method === 'GET' && name === undefined)
      return json(res, 200, { kind: 'storage#bucket', name: bucket, id: bucket });

    const o = name === undefined ? undefined : objects.get(name);
    const wantGen = q.get('generation');
    if (!o || (wantGen && wantGen !== String(o.generation))) {
      await readBody(req);
      return apiError(res, 404, 'notFound', `No such object: ${bucket}/${name}`);
    }
    if (req.method === 'GET')
      return q.get('alt') === 'media' ? sendMedia(res, o) : json(res, 200, resource(bucket, name!, o));
    if (req.method === 'DELETE') {
      objects.delete(name!);
      return void res.writeHead(204).end();
    }
    return apiError(res, 405, 'notImplemented', `${req.method} not supported by the fake`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) apiError(res, 500, 'backendError', String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    requests,
    createBucket(name) {
      if (!buckets.has(name)) buckets.set(name, new Map());
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

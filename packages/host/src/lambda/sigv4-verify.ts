import { createHash, timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { LambdaApiError } from './lambda-error.js';

/** An access key pair a Lambda API client may sign with. */
export interface LambdaCredential {
  accessKeyId: string;
  secretAccessKey: string;
}

/** How far a request's X-Amz-Date may be from the host's clock, as AWS allows. */
const MAX_SKEW_MS = 15 * 60_000;

const AUTH_RE =
  /^AWS4-HMAC-SHA256\s+Credential=([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/([^/\s,]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;._-]+),\s*Signature=([0-9a-f]{64})\s*$/i;

const unrecognized = () =>
  new LambdaApiError('UnrecognizedClientException', 403, 'The security token included in the request is invalid.');
const badSignature = (why: string) => new LambdaApiError('InvalidSignatureException', 403, why);

/** `20260101T000000Z` → Date. */
function amzDate(value: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '');
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

/**
 * Checks an AWS Signature Version 4 request the way AWS does: recomputes the
 * signature over the signed headers, the path as sent, the query and the body
 * with the caller's secret (smithy's signer, as the SDKs use), and compares in
 * constant time. Throws the error the SDKs expect; returns the access key id.
 */
export async function verifySigV4(
  req: { method: string; url: string; headers: Headers; body: Uint8Array },
  credentials: readonly LambdaCredential[],
  now = Date.now(),
): Promise<string> {
  const auth = req.headers.get('authorization');
  if (!auth) throw badSignature('Missing Authentication Token: sign the request with AWS Signature Version 4');
  const m = AUTH_RE.exec(auth);
  if (!m) throw badSignature('Authorization header is not an AWS4-HMAC-SHA256 signature');
  const [, accessKeyId, , region, service, signedList, signature] = m as unknown as string[];
  const credential = credentials.find((k) => k.accessKeyId === accessKeyId);
  if (!credential) throw unrecognized();

  const date = amzDate(req.headers.get('x-amz-date') ?? undefined);
  if (!date) throw badSignature('X-Amz-Date is missing or not in the form YYYYMMDDTHHMMSSZ');
  if (Math.abs(now - date.getTime()) > MAX_SKEW_MS) {
    throw badSignature(
      `Signature expired: ${req.headers.get('x-amz-date')} is more than 15 minutes from the server's time`,
    );
  }

  // The signer trusts x-amz-content-sha256 as the body's hash: it must be the body's hash.
  const declaredHash = req.headers.get('x-amz-content-sha256');
  if (declaredHash !== null && declaredHash !== createHash('sha256').update(req.body).digest('hex')) {
    throw badSignature('x-amz-content-sha256 does not match the request body');
  }

  const signed = signedList!.toLowerCase().split(';');
  if (!signed.includes('host')) throw badSignature('the signature must cover the host header');
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const value = req.headers.get(name);
    if (value === null) throw badSignature(`signed header ${name} is missing from the request`);
    headers[name] = value;
  }
  const url = new URL(req.url);
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const signer = new SignatureV4({
    credentials: { accessKeyId: credential.accessKeyId, secretAccessKey: credential.secretAccessKey },
    region: region!,
    service: service!,
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: false, // the body's hash is taken, never added as a header the client did not send
  });
  const expected = await signer.sign(
    {
      method: req.method,
      protocol: url.protocol,
      hostname: url.hostname,
      path: url.pathname, // as sent (still percent-encoded): the signer encodes it once more, as clients do
      query,
      headers,
      body: req.body,
    },
    { signingDate: date, signableHeaders: new Set(signed) },
  );
  const got = /Signature=([0-9a-f]{64})/.exec(String(expected.headers['authorization']))?.[1] ?? '';
  const a = Buffer.from(got);
  const b = Buffer.from(signature!.toLowerCase());
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw badSignature(
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
  }
  return credential.accessKeyId;
}

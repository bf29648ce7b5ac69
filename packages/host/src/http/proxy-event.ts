import { randomUUID } from 'node:crypto';

/** API Gateway payload format: REST API proxy (1.0) or HTTP API (2.0). */
export type ProxyEventVersion = '1.0' | '2.0';

/** What the endpoint route knows about one request, besides the request itself. */
export interface ProxyRequestInfo {
  /** The function as written in the URL (`name`, `name:alias`). */
  functionRef: string;
  /** The path below `/fn/{function}`, without a leading slash ('' for the root). */
  proxyPath: string;
  sourceIp: string;
  /** Account id shown in requestContext (the host's Lambda account id). */
  accountId: string;
  /** Request id: the job id, so a function's logs and the job line up. */
  requestId?: string;
  now?: Date;
}

const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|[\w.+-]+\+(json|xml)))/i;

/** Text bodies travel as strings, everything else base64, as API Gateway does with binary media types. */
function encodeBody(body: Uint8Array, contentType: string | null): { body: string | null; isBase64Encoded: boolean } {
  if (body.length === 0) return { body: null, isBase64Encoded: false };
  if (contentType === null || TEXT_TYPES.test(contentType)) {
    try {
      return { body: new TextDecoder('utf-8', { fatal: true }).decode(body), isBase64Encoded: false };
    } catch {
      // not UTF-8 after all: fall through to base64
    }
  }
  return { body: Buffer.from(body).toString('base64'), isBase64Encoded: true };
}

function grouped(entries: Iterable<[string, string]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of entries) (out[k] ??= []).push(v);
  return out;
}

const last = (m: Record<string, string[]>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.at(-1)!]));
const joined = (m: Record<string, string[]>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.join(',')]));
const orNull = <T extends object>(o: T) => (Object.keys(o).length > 0 ? o : null);

/** The API Gateway proxy event (1.0 or 2.0) for one HTTP request to `/fn/{function}/{path…}`. */
export function toProxyEvent(
  req: Request,
  body: Uint8Array,
  info: ProxyRequestInfo,
  version: ProxyEventVersion = '1.0',
): Record<string, unknown> {
  const url = new URL(req.url);
  const now = info.now ?? new Date();
  const requestId = info.requestId ?? randomUUID();
  const headers = grouped(req.headers.entries());
  const query = grouped(url.searchParams.entries());
  const userAgent = req.headers.get('user-agent') ?? '';
  const path = `/${info.proxyPath}`;
  const encoded = encodeBody(body, req.headers.get('content-type'));
  const pathParameters = info.proxyPath ? { proxy: info.proxyPath } : null;

  if (version === '2.0') {
    const cookies = req.headers.get('cookie')?.split(/;\s*/).filter(Boolean) ?? [];
    const { cookie: _cookie, ...headersNoCookie } = joined(headers);
    return {
      version: '2.0',
      routeKey: '$default',
      rawPath: path,
      rawQueryString: url.search.slice(1),
      ...(cookies.length > 0 ? { cookies } : {}),
      headers: headersNoCookie,
      queryStringParameters: orNull(joined(query)) ?? undefined,
      pathParameters: pathParameters ?? undefined,
      requestContext: {
        accountId: info.accountId,
        apiId: 'nanogrid',
        domainName: url.host,
        domainPrefix: url.hostname.split('.')[0],
        http: { method: req.method, path, protocol: 'HTTP/1.1', sourceIp: info.sourceIp, userAgent },
        requestId,
        routeKey: '$default',
        stage: '$default',
        time: now.toISOString(),
        timeEpoch: now.getTime(),
      },
      body: encoded.body ?? undefined,
      isBase64Encoded: encoded.isBase64Encoded,
    };
  }
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: req.method,
    headers: last(headers),
    multiValueHeaders: headers,
    queryStringParameters: orNull(last(query)),
    multiValueQueryStringParameters: orNull(query),
    pathParameters,
    stageVariables: null,
    requestContext: {
      accountId: info.accountId,
      apiId: 'nanogrid',
      resourceId: 'proxy',
      resourcePath: '/{proxy+}',
      httpMethod: req.method,
      path: `/fn/${info.functionRef}${path}`,
      stage: 'fn',
      requestId,
      requestTime: now.toUTCString(),
      requestTimeEpoch: now.getTime(),
      protocol: 'HTTP/1.1',
      domainName: url.host,
      identity: { sourceIp: info.sourceIp, userAgent },
    },
    body: encoded.body,
    isBase64Encoded: encoded.isBase64Encoded,
  };
}

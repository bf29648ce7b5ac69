import type { Hono } from 'hono';
import type { z } from 'zod';
import { API_ROUTES, type ApiRoute, UNDOCUMENTED_PREFIXES } from '../src/http/api-routes.js';
import { ErrorBodySchema } from '../src/http/api-schemas.js';

const patterns = API_ROUTES.map((r) => ({
  route: r,
  // /files/{key} holds slashes; /fn/{ref} also answers every path below it.
  re: new RegExp(
    `^${r.path
      .replace(/\{key\}/, '.+')
      .replace(/^\/fn\/\{ref\}$/, '/fn/[^/]+(/.*)?')
      .replace(/\{\w+\}/g, '[^/]+')}$`,
  ),
}));

/** The documented route a request hits, if any. */
export function routeOf(method: string, path: string): ApiRoute | undefined {
  return patterns.find((p) => p.route.method === method.toLowerCase() && p.re.test(path))?.route;
}

type Content = Record<string, { schema?: z.ZodType }>;

/** Why an answer does not match the API's document, or undefined when it does. */
export function contractViolation(
  method: string,
  path: string,
  status: number,
  contentType: string,
  body: unknown,
): string | undefined {
  if (UNDOCUMENTED_PREFIXES.some((p) => path.startsWith(p))) return undefined;
  const route = routeOf(method, path);
  const isJson = contentType.includes('application/json');
  if (!route) {
    // Unknown routes answer 404 / 405 with the error shape.
    if (status < 400)
      return `${method} ${path} answered ${status} but is not in API_ROUTES (packages/host/src/http/api-routes.ts)`;
    return isJson && !ErrorBodySchema.safeParse(body).success
      ? `${method} ${path} answered ${status} without the error shape`
      : undefined;
  }
  const responses = route.operation.responses as unknown as Record<string, { content?: Content }>;
  // `default` covers errors, and any status where it allows any content (a function's own answer).
  const anyAnswer = responses['default']?.content?.['*/*'] !== undefined;
  const documented = responses[String(status)] ?? (status >= 400 || anyAnswer ? responses['default'] : undefined);
  if (!documented) return `${method} ${route.path} answered ${status}, which its definition does not list`;
  if (documented.content?.['*/*']) return undefined; // any content type (stored files)
  // Another documented type (an event stream beside JSON): its events are checked by the tests that read them.
  const other = Object.keys(documented.content ?? {}).find((t) => t !== 'application/json');
  if (other && contentType.startsWith(other)) return undefined;
  const schema = documented.content?.['application/json']?.schema;
  if (!schema)
    return isJson
      ? `${method} ${route.path} answered JSON where its definition says ${Object.keys(documented.content ?? {}).join(', ') || 'no body'}`
      : undefined;
  if (!isJson)
    return `${method} ${route.path} answered ${contentType || 'no content type'} where its definition says JSON`;
  const parsed = schema.safeParse(body);
  if (parsed.success) return undefined;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
  return `${method} ${route.path} answered ${status} with a body that does not match its definition: ${issues}`;
}

/**
 * Wraps `app.request` so every answer a test gets is checked against the API's
 * document (API_ROUTES): a route, status or body shape that drifted from it fails the test that met it.
 */
export function checkedByContract(app: Hono): Hono {
  const request = app.request.bind(app);
  app.request = (async (input: string | Request | URL, init?: RequestInit, ...rest: unknown[]) => {
    const res = await (request as (...a: unknown[]) => Promise<Response>)(input, init, ...rest);
    const url = new URL(
      typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
      'http://localhost',
    );
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    const type = res.headers.get('content-type') ?? '';
    const body = type.includes('application/json')
      ? await res
          .clone()
          .json()
          .catch(() => undefined)
      : undefined;
    const why = contractViolation(method, url.pathname, res.status, type, body);
    if (why) throw new Error(`API contract: ${why}`);
    return res;
  }) as Hono['request'];
  return app;
}

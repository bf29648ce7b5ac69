import { readFileSync } from 'node:fs';
import { createDocument } from 'zod-openapi';
import { API_ROUTES } from './api-routes.js';

export interface OpenApiOptions {
  /** Shown as the document's version. @default the version of @nanogrid/host */
  version?: string;
}

function hostVersion(): string {
  // src/http and dist/http both sit two levels below the package root.
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
    .version;
}

/** The OpenAPI 3.1 document of the API, built from API_ROUTES. */
export function openApiDocument(opts: OpenApiOptions = {}): ReturnType<typeof createDocument> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of API_ROUTES) {
    paths[r.path] ??= {};
    (paths[r.path] as Record<string, unknown>)[r.method] = { ...r.operation, ...(r.open ? { security: [] } : {}) };
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'NanoGrid API',
      version: opts.version ?? hostVersion(),
      description:
        'A self-hosted Function-as-a-Service engine. Errors are always {"error": {"code", "message", "field"?}}; with API keys configured every route but the open ones needs `Authorization: Bearer <key>`.',
    },
    security: [{ apiKey: [] }],
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: "One of the host's http.apiKeys" } },
    },
    paths: paths as Parameters<typeof createDocument>[0]['paths'],
  });
}

import type {
  FunctionInfo,
  FunctionStats,
  HostInfo,
  Job,
  JobLogs,
  JobSubmitted,
  LogEnd,
  LogEvent,
  StatsBucket,
  StatsSummary,
  SystemInfo,
} from '@nanogrid/client';
import type { ErrorCode } from '@nanogrid/core';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { API_ROUTES, ENDPOINT_METHODS, UNDOCUMENTED_PREFIXES, honoPath } from '../src/http/api-routes.js';
import type {
  ErrorCodeSchema,
  FunctionInfoSchema,
  FunctionStatsSchema,
  HostInfoSchema,
  JobLogsSchema,
  JobSchema,
  JobSubmittedSchema,
  LogEndSchema,
  LogEventSchema,
  StatsBucketSchema,
  StatsSummarySchema,
  SystemSchema,
} from '../src/http/api-schemas.js';
import { openApiDocument } from '../src/http/openapi.js';
import { createController } from '../src/index.js';
import { contractViolation } from './contract.js';
import { type TestHost, makeHost } from './helpers.js';

// Compile-time: the document's schemas, @nanogrid/client's types and core's error codes are the same sets.
type Same<A, B> = [Exclude<A, B>, Exclude<B, A>] extends [never, never] ? true : false;
const sameShapes: [
  Same<keyof z.infer<typeof FunctionInfoSchema>, keyof FunctionInfo>,
  Same<keyof z.infer<typeof JobSchema>, keyof Job>,
  Same<keyof z.infer<typeof JobSubmittedSchema>, keyof JobSubmitted>,
  Same<z.infer<typeof ErrorCodeSchema>, ErrorCode>,
  Same<keyof z.infer<typeof FunctionStatsSchema>, keyof FunctionStats>,
  Same<keyof z.infer<typeof StatsBucketSchema>, keyof StatsBucket>,
  Same<keyof z.infer<typeof StatsSummarySchema>, keyof StatsSummary>,
  Same<keyof z.infer<typeof SystemSchema>, keyof SystemInfo>,
  Same<keyof z.infer<typeof HostInfoSchema>, keyof HostInfo>,
  Same<keyof z.infer<typeof JobLogsSchema>, keyof JobLogs>,
  Same<keyof z.infer<typeof LogEventSchema>, keyof LogEvent>,
  Same<keyof z.infer<typeof LogEndSchema>, keyof LogEnd>,
] = [true, true, true, true, true, true, true, true, true, true, true, true];

describe('OpenAPI document', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await makeHost({}, { metrics: { text: async () => '', contentType: 'text/plain' } });
  });
  afterAll(async () => {
    await host?.close();
  });

  it('GET /openapi.json serves an OpenAPI 3.1 document that a third-party validator accepts', async () => {
    const res = await host.app.request('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(doc).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    expect(documented.sort()).toEqual(API_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    expect(sameShapes).toEqual([true, true, true, true, true, true, true, true, true, true, true, true]);
  });

  it('the app serves exactly the documented routes (besides other APIs under their own prefix)', () => {
    const app = createController({
      registry: host.nanogrid.registry,
      jobs: host.nanogrid.jobs,
      storage: host.nanogrid.storage,
      metrics: { text: async () => '', contentType: 'text/plain' },
    });
    const served = new Set(
      app.routes
        // app.use('*') middleware aside; app.all() routes answer every method.
        .filter(
          (r) =>
            !(r.method === 'ALL' && /^\/?\*$/.test(r.path)) && !UNDOCUMENTED_PREFIXES.some((p) => r.path.startsWith(p)),
        )
        .map((r) => `${r.method.toLowerCase()} ${r.path}`),
    );
    const documented = new Set(API_ROUTES.map((r) => `${r.method} ${honoPath(r)}`));
    // A path documented with every endpoint method stands for an app.all() route.
    for (const r of API_ROUTES) {
      if (ENDPOINT_METHODS.every((m) => API_ROUTES.some((x) => x.path === r.path && x.method === m)))
        documented.add(`all ${honoPath(r)}`);
    }
    const missing = [...served].filter((r) => !documented.has(r));
    expect(missing, 'served but not described in packages/host/src/http/api-routes.ts').toEqual([]);
    expect(
      [...documented].filter((r) => !served.has(r) && !served.has(`all ${r.split(' ')[1]}`)),
      'described but not served',
    ).toEqual([]);
  });

  it('the contract check catches answers that drift from the document', () => {
    const job = {
      job_id: 'j',
      function_id: 'f',
      status: 'completed',
      output_files: [],
      created_at: 't',
      updated_at: 't',
    };
    expect(contractViolation('GET', '/status/j', 200, 'application/json', job)).toBeUndefined();
    expect(contractViolation('GET', '/status/j', 200, 'application/json', { ...job, status: 'done' })).toContain(
      'status',
    );
    expect(contractViolation('GET', '/status/j', 201, 'application/json', job)).toContain('does not list');
    expect(contractViolation('GET', '/status/j', 404, 'application/json', { message: 'x' })).toContain('error');
    expect(contractViolation('GET', '/nowhere', 200, 'application/json', {})).toContain('not in API_ROUTES');
    expect(contractViolation('GET', '/2015-03-31/functions', 200, 'application/json', {})).toBeUndefined();
    // A function's endpoint answers what the function decides, on any path below it.
    expect(contractViolation('PATCH', '/fn/hello/a/b', 418, 'text/plain', undefined)).toBeUndefined();
  });
});

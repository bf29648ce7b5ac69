import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiResponsesObject } from 'zod-openapi';
import * as S from './api-schemas.js';

/**
 * Every route of the NanoGrid API, described once: the OpenAPI document is
 * built from this list, a test checks that the app serves exactly these
 * routes, and the test hosts validate every answer against them. A new route
 * is a handler plus an entry here.
 */
export interface ApiRoute {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI form: `/functions/{ref}`. */
  path: string;
  /** Served without the API key (load balancers, signed links, tooling). @default false */
  open?: boolean;
  operation: ZodOpenApiOperationObject;
}

/** Routes under these prefixes are not this API: the AWS Lambda API (its own contract) and the web dashboard. */
export const UNDOCUMENTED_PREFIXES = ['/2015-03-31', '/ui'] as const;

/** Methods a function's HTTP endpoint is documented with (it answers any). */
export const ENDPOINT_METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } });
/** A Server-Sent Events stream (`?follow=1`): each event's `data` is one line of JSON. */
const eventStream = (description: string) => ({
  'text/event-stream': { schema: z.string().meta({ description }) },
});
const follow = z
  .enum(['1', '0', 'true', 'false'])
  .optional()
  .meta({ description: '1: a text/event-stream (Server-Sent Events) instead of JSON; a `: ping` comment every 15 s' });
/** Any failure: the error shape, its status following from the code. */
const errors = { default: json(S.ErrorBodySchema, 'An error: 4xx for the request, 5xx for the host') };
const responses = (r: ZodOpenApiResponsesObject): ZodOpenApiResponsesObject => ({ ...r, ...errors });

const ref = z.string().meta({
  description: 'A function name or id; where one version is meant also `name:3` or `name:alias`',
  example: 'hello:prod',
});
const refParams = { path: z.object({ ref }) };
const aliasParams = { path: z.object({ ref, alias: z.string().meta({ example: 'prod' }) }) };
const jobParams = { path: z.object({ job_id: z.string() }) };
const scheduleParams = { path: z.object({ ref, id: z.string() }) };

export const API_ROUTES: readonly ApiRoute[] = [
  {
    method: 'get',
    path: '/health',
    open: true,
    operation: {
      operationId: 'health',
      summary: 'Health probe for load balancers',
      responses: { '200': json(S.HealthSchema, 'Healthy') },
    },
  },
  {
    method: 'get',
    path: '/openapi.json',
    open: true,
    operation: {
      operationId: 'openapi',
      summary: 'This document',
      responses: {
        '200': {
          description: 'OpenAPI 3.1',
          content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
        },
      },
    },
  },
  {
    method: 'get',
    path: '/files/{key}',
    open: true,
    operation: {
      operationId: 'downloadFile',
      summary: 'Download an output file through a signed link (embedded filesystem storage only)',
      description: '`key` is the storage key of the file (it may hold `/`); the link carries `expires` and `sig`.',
      requestParams: { path: z.object({ key: z.string() }), query: z.object({ expires: z.string(), sig: z.string() }) },
      responses: responses({
        '200': {
          description: 'The file, with the content type it was stored with',
          content: { '*/*': { schema: z.string().meta({ format: 'binary' }) } },
        },
      }),
    },
  },
  {
    method: 'get',
    path: '/metrics',
    operation: {
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      responses: responses({
        '200': { description: 'Prometheus text exposition', content: { 'text/plain': { schema: z.string() } } },
      }),
    },
  },
  {
    method: 'post',
    path: '/upload',
    operation: {
      operationId: 'deploy',
      summary: 'Deploy a function, or the next version of an existing name',
      requestBody: { required: true, content: { 'multipart/form-data': { schema: S.UploadFormSchema } } },
      responses: responses({ '201': json(S.FunctionInfoSchema, 'Deployed: the new version') }),
    },
  },
  {
    method: 'post',
    path: '/run',
    operation: {
      operationId: 'run',
      summary: 'Run a function: wait for the result, or (X-Async: true) queue it',
      requestParams: {
        header: z.object({
          'x-async': z.enum(['true', '1', 'yes']).optional().meta({ description: 'Answer 202 at once with a job id' }),
          'idempotency-key': z.string().min(1).max(255).optional().meta({
            description:
              'A retry with the same key within 24 h gets the same job (409 IDEMPOTENCY_CONFLICT for another body)',
          }),
        }),
      },
      requestBody: { required: true, content: { 'application/json': { schema: S.RunRequestSchema } } },
      responses: responses({
        '200': json(S.JobSchema, 'The job completed'),
        '202': json(
          z.union([S.JobSubmittedSchema, S.JobSchema]),
          'Queued (X-Async), or still running when the wait ended: poll GET /status/{job_id}',
        ),
        '500': json(S.JobSchema, 'The job failed: its error says why (FUNCTION_ERROR, OUT_OF_MEMORY …)'),
        '504': json(S.JobSchema, 'The job ran past its timeout'),
      }),
    },
  },
  {
    method: 'get',
    path: '/status/{job_id}',
    operation: {
      operationId: 'status',
      summary: 'A job and, once final, its result or error',
      requestParams: jobParams,
      responses: responses({ '200': json(S.JobSchema, 'The job') }),
    },
  },
  {
    method: 'get',
    path: '/jobs/{job_id}',
    operation: {
      operationId: 'getJob',
      summary: 'A job and, once final, its result or error (the same as GET /status/{job_id})',
      requestParams: jobParams,
      responses: responses({ '200': json(S.JobSchema, 'The job') }),
    },
  },
  {
    method: 'get',
    path: '/jobs',
    operation: {
      operationId: 'listJobs',
      summary: 'Recent jobs, newest first, a page at a time (needs a result store that lists: memory, SQLite, Redis)',
      requestParams: {
        query: z.object({
          function: z.string().optional().meta({ description: 'Name or id: only its jobs (every version)' }),
          status: S.JobStatusSchema.optional(),
          since: z.string().optional().meta({ description: 'ISO 8601 time: jobs created at or after it' }),
          limit: z.string().optional().meta({ description: 'Jobs per page, 1-100 (default 20)' }),
          cursor: z.string().optional().meta({ description: 'next_cursor of the previous page' }),
          follow,
        }),
      },
      responses: responses({
        '200': {
          description:
            'A page of jobs; with follow=1 an event stream of status changes of the jobs matching `function` and `status`',
          content: {
            ...json(S.JobListSchema, '').content,
            ...eventStream(
              '`job` events, data: a Job (without `logs`; without `result` when it is over 16 KiB) each time a job is created, starts or ends',
            ),
          },
        },
      }),
    },
  },
  {
    method: 'get',
    path: '/jobs/{job_id}/logs',
    operation: {
      operationId: 'jobLogs',
      summary: "A job's logs; with follow=1 its lines live while it runs (Server-Sent Events), then its end",
      requestParams: { ...jobParams, query: z.object({ follow }) },
      responses: responses({
        '200': {
          description: 'The logs (JSON), or with follow=1 an event stream',
          content: {
            ...json(S.JobLogsSchema, '').content,
            ...eventStream(
              '`log` events (data: LogEvent) while the job runs, then one `end` event (data: LogEnd), then the stream closes; a job already final: its stored logs, then `end`',
            ),
          },
        },
      }),
    },
  },
  {
    method: 'post',
    path: '/jobs/{job_id}/cancel',
    operation: {
      operationId: 'cancelJob',
      summary: 'Cancel a pending or running job: it ends `cancelled` (a running one is killed in its sandbox)',
      requestParams: jobParams,
      responses: responses({
        '200': json(S.JobSchema, 'The job, now cancelled'),
        '409': json(S.ErrorBodySchema, 'The job was already final (CONFLICT)'),
      }),
    },
  },
  {
    method: 'get',
    path: '/functions',
    operation: {
      operationId: 'listFunctions',
      summary: 'Every function, at its latest version',
      responses: responses({ '200': json(S.FunctionListSchema, 'The functions') }),
    },
  },
  {
    method: 'get',
    path: '/functions/{ref}',
    operation: {
      operationId: 'getFunction',
      summary: 'One version of a function (the latest for a bare name)',
      requestParams: refParams,
      responses: responses({ '200': json(S.FunctionInfoSchema, 'The version') }),
    },
  },
  {
    method: 'delete',
    path: '/functions/{ref}',
    operation: {
      operationId: 'deleteFunction',
      summary: 'Delete a function (name or id) or one version (name:3; 409 CONFLICT while an alias points at it)',
      requestParams: refParams,
      responses: responses({ '200': json(S.FunctionDeletedSchema, 'Deleted') }),
    },
  },
  {
    method: 'get',
    path: '/functions/{ref}/versions',
    operation: {
      operationId: 'listVersions',
      summary: 'Every version of a function and its aliases',
      requestParams: refParams,
      responses: responses({ '200': json(S.FunctionVersionsSchema, 'The versions') }),
    },
  },
  {
    method: 'get',
    path: '/functions/{ref}/aliases',
    operation: {
      operationId: 'listAliases',
      summary: 'The aliases of a function',
      requestParams: refParams,
      responses: responses({ '200': json(S.FunctionAliasesSchema, 'The aliases') }),
    },
  },
  {
    method: 'put',
    path: '/functions/{ref}/aliases/{alias}',
    operation: {
      operationId: 'setAlias',
      summary: 'Point an alias at a version (creates or moves it)',
      requestParams: aliasParams,
      requestBody: { required: true, content: { 'application/json': { schema: S.AliasRequestSchema } } },
      responses: responses({ '200': json(S.AliasSetSchema, 'The alias') }),
    },
  },
  {
    method: 'delete',
    path: '/functions/{ref}/aliases/{alias}',
    operation: {
      operationId: 'deleteAlias',
      summary: 'Delete an alias',
      requestParams: aliasParams,
      responses: responses({ '200': json(S.AliasDeletedSchema, 'Deleted') }),
    },
  },
  {
    method: 'post',
    path: '/functions/{ref}/schedules',
    operation: {
      operationId: 'createSchedule',
      summary: 'Run the function on a schedule (each tick fires once across every controller)',
      requestParams: refParams,
      requestBody: { required: true, content: { 'application/json': { schema: S.ScheduleRequestSchema } } },
      responses: responses({ '201': json(S.ScheduleSchema, 'The schedule') }),
    },
  },
  {
    method: 'get',
    path: '/functions/{ref}/schedules',
    operation: {
      operationId: 'listSchedules',
      summary: "The function's schedules",
      requestParams: refParams,
      responses: responses({ '200': json(S.ScheduleListSchema, 'The schedules') }),
    },
  },
  {
    method: 'delete',
    path: '/functions/{ref}/schedules/{id}',
    operation: {
      operationId: 'deleteSchedule',
      summary: 'Delete a schedule',
      requestParams: scheduleParams,
      responses: responses({ '200': json(S.ScheduleDeletedSchema, 'Deleted') }),
    },
  },
  {
    method: 'get',
    path: '/functions/{ref}/stats',
    operation: {
      operationId: 'functionStats',
      summary: 'Invocations, errors, p50/p95 duration, cold/warm starts and peak memory of a function over time',
      description:
        'Counted per minute by the worker that finished each run, in the shared result store: every controller answers the same, and the numbers outlive restarts (25 h).',
      requestParams: {
        path: z.object({ ref }),
        query: z.object({
          window: z
            .string()
            .optional()
            .meta({ description: 'How far back: 15m, 1h, 24h or seconds; whole minutes, at most 24h (default 1h)' }),
          step: z
            .string()
            .optional()
            .meta({ description: 'Seconds per bucket, a multiple of 60 (default: about 60 buckets)' }),
        }),
      },
      responses: responses({ '200': json(S.FunctionStatsSchema, 'The buckets, oldest first, and the totals') }),
    },
  },
  {
    method: 'get',
    path: '/stats/functions',
    operation: {
      operationId: 'statsSummary',
      summary: 'Invocations and errors of every function over a window (the functions list)',
      requestParams: {
        query: z.object({
          window: z.string().optional().meta({ description: 'How far back: 15m, 1h, 24h or seconds (default 1h)' }),
        }),
      },
      responses: responses({ '200': json(S.StatsSummarySchema, 'One entry per function, zeros included') }),
    },
  },
  {
    method: 'get',
    path: '/system',
    operation: {
      operationId: 'system',
      summary: 'Controllers and workers seen, queue depth, desired workers, sandbox, backends and their health',
      responses: responses({ '200': json(S.SystemSchema, 'The system as this controller sees it') }),
    },
  },
  ...ENDPOINT_METHODS.map(
    (method): ApiRoute => ({
      method,
      path: '/fn/{ref}',
      operation: {
        operationId: `endpoint_${method}`,
        summary: "A function's HTTP endpoint",
        description:
          'Any method, on `/fn/{ref}` or any path below it, runs the function with an API Gateway proxy event (payload 1.0, or 2.0 when deployed with http_event) and answers with what it returns: the function decides status, headers and body. A failed run answers 502, one past its timeout 504, both with the error shape. Functions deployed `public` need no API key here.',
        security: [{ apiKey: [] }, {}],
        requestParams: { path: z.object({ ref }) },
        requestBody: { content: { '*/*': { schema: z.string().meta({ format: 'binary' }) } } },
        responses: {
          default: {
            description: "The function's answer",
            content: { '*/*': { schema: z.string().meta({ format: 'binary' }) } },
          },
        },
      },
    }),
  ),
];

/** `/functions/{ref}` → `/functions/:ref` (and `{key}` of /files → `*`), the form Hono routes by. */
export function honoPath(route: ApiRoute): string {
  if (route.path === '/files/{key}') return '/files/*';
  if (route.path === '/fn/{ref}') return '/fn/*';
  return route.path.replace(/\{(\w+)\}/g, ':$1');
}

import { ERROR_STATUS, type ErrorCode } from '@nanogrid/core';
import { z } from 'zod';
import 'zod-openapi'; // typed `.meta({ id })` for the document's components

/** The API's shapes as zod schemas: the OpenAPI document is generated from them, tests validate answers with them. */

// Every code core knows (ERROR_STATUS), so the document follows new codes by itself.
const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

export const ErrorCodeSchema = z.enum(ERROR_CODES).meta({ id: 'ErrorCode' });

export const ErrorBodySchema = z
  .object({
    error: z.object({
      code: ErrorCodeSchema,
      message: z.string(),
      field: z.string().optional().meta({ description: 'The request field at fault' }),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .meta({
    id: 'Error',
    description: 'Every error answer: a code (its HTTP status follows from it) and a message a person can act on',
  });

export const HealthSchema = z.object({ status: z.literal('healthy') }).meta({ id: 'Health' });

const NetworkSchema = z.enum(['none', 'ai', 'internet']);

export const CallbackFormatSchema = z
  .enum(['json', 'slack'])
  .meta({ id: 'CallbackFormat', description: 'json: the job record; slack: a Slack incoming-webhook message' });

export const FunctionInfoSchema = z
  .object({
    function_id: z.string(),
    function_name: z.string(),
    version: z.number().int().min(1),
    runtime: z.string(),
    runtime_plugin: z.string(),
    handler: z.string(),
    entry_file: z.string(),
    timeout: z.number().meta({ description: 'Seconds' }),
    memory_mb: z.number().int(),
    disk_mb: z.number().int().optional(),
    network: NetworkSchema,
    max_concurrency: z.number().int().optional(),
    public: z
      .literal(true)
      .optional()
      .meta({ description: 'Its HTTP endpoint (/fn/{name}) answers without an API key' }),
    http_event: z
      .literal('2.0')
      .optional()
      .meta({ description: 'Its HTTP endpoint hands it API Gateway payload 2.0 events' }),
    callback_url: z.string().optional().meta({
      description: 'Origin of the default completion webhook of its jobs (its path is not shown: it may be a secret)',
    }),
    callback_format: CallbackFormatSchema.optional(),
    s3_key: z.string(),
    code_sha256: z.string(),
    code_size: z.number().int(),
    created_at: z.string(),
    env_keys: z.array(z.string()).meta({ description: 'Names of the env variables (values are never shown)' }),
  })
  .meta({ id: 'Function', description: 'One version of a function' });

export const FunctionListSchema = z.object({ functions: z.array(FunctionInfoSchema) }).meta({ id: 'FunctionList' });

export const AliasInfoSchema = z
  .object({ alias: z.string(), version: z.number().int(), updated_at: z.string() })
  .meta({ id: 'Alias' });

export const AliasSetSchema = AliasInfoSchema.extend({ function_id: z.string(), function_name: z.string() }).meta({
  id: 'AliasSet',
});

export const FunctionVersionsSchema = z
  .object({
    function_id: z.string(),
    function_name: z.string(),
    versions: z.array(FunctionInfoSchema),
    aliases: z.array(AliasInfoSchema),
  })
  .meta({ id: 'FunctionVersions' });

export const FunctionAliasesSchema = z
  .object({ function_id: z.string(), function_name: z.string(), aliases: z.array(AliasInfoSchema) })
  .meta({ id: 'FunctionAliases' });

export const FunctionDeletedSchema = z
  .object({
    function_id: z.string(),
    function_name: z.string(),
    version: z.number().int().optional(),
    deleted: z.literal(true),
  })
  .meta({ id: 'FunctionDeleted' });

export const AliasDeletedSchema = z
  .object({ function: z.string(), alias: z.string(), deleted: z.literal(true) })
  .meta({ id: 'AliasDeleted' });

export const ScheduleRequestSchema = z
  .object({
    schedule: z.string().meta({
      description: 'rate(N minutes|hours|days|seconds), or cron with 5 fields (minute first) or 6 (seconds first)',
      examples: ['rate(5 minutes)', '0 9 * * 1-5', '*/10 * * * * *'],
    }),
    timezone: z.string().optional().meta({ description: 'IANA zone cron fields are read in', example: 'Europe/Paris' }),
    payload: z.unknown().optional().meta({ description: 'The event each run gets (default {})' }),
  })
  .meta({ id: 'ScheduleRequest' });

export const ScheduleSchema = z
  .object({
    schedule_id: z.string(),
    function_id: z.string(),
    function: z.string().meta({ description: 'What runs: the name (latest version), name:alias or name:version' }),
    schedule: z.string(),
    timezone: z.string(),
    payload: z.unknown(),
    created_at: z.string(),
  })
  .meta({ id: 'Schedule' });

export const ScheduleListSchema = z
  .object({ function_id: z.string(), schedules: z.array(ScheduleSchema) })
  .meta({ id: 'ScheduleList' });

export const ScheduleDeletedSchema = z
  .object({ schedule_id: z.string(), deleted: z.literal(true) })
  .meta({ id: 'ScheduleDeleted' });

export const JobStatusSchema = z
  .enum(['pending', 'running', 'completed', 'failed', 'cancelled'])
  .meta({ id: 'JobStatus' });

export const JobSchema = z
  .object({
    job_id: z.string(),
    function_id: z.string(),
    function_name: z.string().optional(),
    function_version: z.number().int().optional(),
    status: JobStatusSchema,
    payload: z.unknown().optional().meta({
      description:
        'The event it was submitted with, kept up to 64 KiB of JSON; shown by GET /jobs/{job_id} and /status/{job_id} only',
    }),
    payload_bytes: z.number().int().optional().meta({ description: 'Size of a payload too large to keep, bytes' }),
    result: z.unknown().optional().meta({ description: "The function's return value (present once completed)" }),
    error: z
      .object({ code: ErrorCodeSchema, message: z.string(), type: z.string().optional(), trace: z.string().optional() })
      .optional()
      .meta({ description: 'Why the job failed' }),
    output_files: z
      .array(z.string())
      .meta({ description: 'Links to the files the function wrote to its output directory' }),
    execution_time_ms: z.number().optional(),
    logs: z.string().optional(),
    created_at: z.string(),
    updated_at: z.string(),
    started_at: z.string().optional(),
    finished_at: z.string().optional(),
    attempts: z.number().int().optional(),
    peak_memory_bytes: z.number().optional(),
    worker: z.string().optional(),
    start: z.enum(['cold', 'warm', 'prewarmed']).optional(),
    trigger: z
      .enum(['api', 'http', 'schedule'])
      .optional()
      .meta({ description: 'What started the job (absent: an API call)' }),
    callback_url: z
      .string()
      .optional()
      .meta({ description: 'Origin of the URL the final record is POSTed to (its path is not shown)' }),
    callback_format: CallbackFormatSchema.optional(),
    message: z.string().optional().meta({ description: 'Set when a sync run hands over to polling' }),
  })
  .meta({ id: 'Job' });

export const JobListSchema = z
  .object({
    jobs: z.array(JobSchema).meta({ description: 'Newest first' }),
    next_cursor: z.string().optional().meta({ description: 'Pass as `cursor` for the next page; absent on the last' }),
  })
  .meta({ id: 'JobList' });

export const LogEventSchema = z
  .object({
    stream: z.enum(['stdout', 'stderr']),
    line: z.string().meta({ description: 'One line, without its newline (cut past 8 KiB)' }),
    t: z.number().meta({ description: 'When the worker read it, ms since the epoch' }),
  })
  .meta({ id: 'LogEvent', description: 'Data of a `log` event of GET /jobs/{job_id}/logs?follow=1' });

export const JobLogsSchema = z
  .object({
    job_id: z.string(),
    status: JobStatusSchema,
    logs: z.string().meta({ description: "The record's logs: the tail of what the job printed ('' while it runs)" }),
    lines: z.array(LogEventSchema).meta({
      description: "Its lines so far (while it runs, and for a while after; else the record's logs as lines)",
    }),
  })
  .meta({ id: 'JobLogs' });

export const LogEndSchema = z
  .object({
    job_id: z.string(),
    status: JobStatusSchema,
    error: JobSchema.shape.error,
  })
  .meta({ id: 'LogEnd', description: 'Data of the `end` event: the job is final, the stream closes' });

export const JobSubmittedSchema = z
  .object({
    job_id: z.string(),
    function_id: z.string(),
    function_name: z.string(),
    function_version: z.number().int(),
    status: z.literal('pending'),
    message: z.string(),
  })
  .meta({ id: 'JobSubmitted' });

export const RunRequestSchema = z
  .object({
    function: z.string().optional().meta({ description: 'A name or id, optionally with ":<version>" or ":<alias>"' }),
    function_id: z
      .string()
      .optional()
      .meta({ description: 'The original field: same forms as "function"; give one of the two' }),
    payload: z.unknown().optional().meta({ description: 'The event handed to the function (default {})' }),
    callback_url: z.string().optional().meta({
      description:
        "Receives the final job record (POST, signed X-NanoGrid-Signature when webhooks.secret is set), retried for 24 h; default: the function's",
    }),
    callback_format: CallbackFormatSchema.optional(),
  })
  .meta({ id: 'RunRequest' });

export const AliasRequestSchema = z.object({ version: z.number().int().min(1) }).meta({ id: 'AliasRequest' });

export const UploadFormSchema = z
  .object({
    file: z
      .string()
      .meta({ format: 'binary', description: 'One source file of the runtime (.py .js .mjs .cpp .go …) or a .zip' }),
    function_name: z.string().meta({ description: 'Deploying an existing name makes its next version' }),
    runtime: z.string().meta({ examples: ['python3.11', 'nodejs20.x', 'cpp', 'go'] }),
    handler: z.string().optional().meta({ description: 'module.function' }),
    timeout: z.string().optional().meta({ description: 'Seconds' }),
    memory_mb: z.string().optional(),
    disk_mb: z.string().optional(),
    max_concurrency: z.string().optional(),
    network: NetworkSchema.optional(),
    env: z.string().optional().meta({ description: 'A JSON object of strings' }),
    public: z
      .enum(['true', 'false'])
      .optional()
      .meta({ description: 'Serve its HTTP endpoint /fn/{name} without an API key' }),
    http_event: z.enum(['1.0', '2.0']).optional().meta({ description: 'Event format of its HTTP endpoint' }),
    callback_url: z.string().optional().meta({ description: 'Default completion webhook of its jobs' }),
    callback_format: CallbackFormatSchema.optional(),
  })
  .meta({ id: 'UploadForm' });

// The statistics and system view (GET /functions/{ref}/stats, /stats/functions, /system).
export * from './telemetry-schemas.js';

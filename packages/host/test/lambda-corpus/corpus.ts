import { readFileSync } from 'node:fs';

/**
 * Lambda handlers written the ways public Lambda code is written (the AWS
 * console and SAM starters, Serverless Framework templates, callback and
 * context.succeed styles, SES and EventBridge functions), each with a realistic
 * event, the result Lambda gives and the log lines Lambda prints.
 */
export interface CorpusCase {
  name: string;
  runtime: 'python3.11' | 'nodejs18.x';
  handler: string;
  /** Files of the function, relative to `lambda-corpus/{python,node}/`; one file is uploaded as is, more as a zip. */
  files: string[];
  event: 'apigw-rest' | 'apigw-http' | 'ses' | 'scheduled' | 'direct';
  /** Lambda's result (a function of the job id when the result carries it). */
  result?: unknown | ((jobId: string) => unknown);
  /** Lambda's error, when the invocation fails. */
  error?: { code: string; type: string; message: RegExp };
  /** Lines Lambda prints for this invocation (the job id is the request id). */
  logs: ((jobId: string) => RegExp)[];
  /** Lines Lambda does not print. */
  absent?: RegExp[];
}

const at = (dir: string, path: string) => new URL(`./${dir}/${path}`, import.meta.url);
export const corpusFile = (c: CorpusCase, path: string): Buffer =>
  readFileSync(at(c.runtime.startsWith('python') ? 'python' : 'node', path));
export const corpusEvent = (c: CorpusCase): unknown =>
  JSON.parse(readFileSync(at('events', `${c.event}.json`), 'utf8')) as unknown;

const TIME = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';
/** Python's root handler: `[LEVEL]\t{time}\t{request id}\t{message}`. */
const py = (level: string, message: string) => (id: string) =>
  new RegExp(`^\\[${level}\\]\\t${TIME}\\t${id}\\t${message}$`, 'm');
/** Node's console: `{time}\t{request id}\t{LEVEL}\t{message}`. */
const node = (level: string, message: string) => (id: string) =>
  new RegExp(`^${TIME}\\t${id}\\t${level}\\t${message}`, 'm');
const line = (text: string) => () => new RegExp(`^${text}$`, 'm');

export const CORPUS: CorpusCase[] = [
  {
    name: 'py-console-default',
    runtime: 'python3.11',
    handler: 'lambda_function.lambda_handler',
    files: ['lambda_function.py'],
    event: 'apigw-rest',
    result: {
      isBase64Encoded: false,
      statusCode: 200,
      headers: { 'Content-Type': 'application/json' },
      body: '{"message": "hello Ada"}',
    },
    logs: [py('INFO', "\\{'name': 'Ada'\\}")],
  },
  {
    name: 'py-named-logger',
    runtime: 'python3.11',
    handler: 'handler.handler',
    files: ['handler.py'],
    event: 'direct',
    result: { body: 'total 12', statusCode: '200', function: 'py-named-logger' },
    logs: [py('INFO', 'items: \\[3, 4, 5\\]'), line('Hello')],
  },
  {
    name: 'py-basic-config',
    runtime: 'python3.11',
    handler: 'app.handler',
    files: ['app.py'],
    event: 'apigw-http',
    result: { statusCode: 201, body: '{"item": "book", "quantity": 2, "dry_run": true}' },
    logs: [py('WARNING', 'order received on /orders')],
    absent: [/not printed on Lambda/],
  },
  {
    name: 'py-scheduled',
    runtime: 'python3.11',
    handler: 'cleanup.lambda_handler',
    files: ['cleanup.py'],
    event: 'scheduled',
    result: {
      statusCode: 200,
      body: 'Cleanup completed',
      region: 'us-east-1',
      account: '000000000000',
      kind: 'Scheduled Event',
    },
    logs: [
      line(
        'Running scheduled cleanup for arn:aws:events:us-east-1:000000000000:rule/nightly-cleanup at 2023-11-14T22:00:00Z',
      ),
    ],
  },
  {
    name: 'py-ses-filter',
    runtime: 'python3.11',
    handler: 'ses_filter.lambda_handler',
    files: ['ses_filter.py'],
    event: 'ses',
    result: { disposition: 'CONTINUE' },
    logs: [py('INFO', 'From: Sender <sender@example.com> Subject: Order 1234')],
  },
  {
    name: 'py-dashed-module',
    runtime: 'python3.11',
    handler: 'simple-hello-cli.handler',
    files: ['simple-hello-cli.py'],
    event: 'direct',
    result: 'Hello, Ada! (512 MB, version 1)',
    logs: [(id) => new RegExp(`^request ${id}$`, 'm')],
  },
  {
    name: 'py-package',
    runtime: 'python3.11',
    handler: 'orders.api.handler',
    files: ['orders/__init__.py', 'orders/util.py', 'orders/api.py'],
    event: 'apigw-http',
    result: { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"ordered": 2}' },
    logs: [(id) => new RegExp(`"request_id": "${id}", "remaining_ok": true, "route": "POST /orders"`)],
  },
  {
    name: 'node-serverless-template',
    runtime: 'nodejs18.x',
    handler: 'handler.hello',
    files: ['handler.js'],
    event: 'apigw-rest',
    result: {
      statusCode: 200,
      body: JSON.stringify(
        { message: 'Go Serverless v3.0! Your function executed successfully!', input: { name: 'Ada' } },
        null,
        2,
      ),
    },
    logs: [],
  },
  {
    name: 'node-callback-endpoint',
    runtime: 'nodejs18.x',
    handler: 'endpoint.endpoint',
    files: ['endpoint.js'],
    event: 'apigw-rest',
    result: { statusCode: 200, body: '{"message":"Hello, Ada, from node-callback-endpoint."}' },
    logs: [],
  },
  {
    name: 'node-context-succeed',
    runtime: 'nodejs18.x',
    handler: 'legacy.handler',
    files: ['legacy.js'],
    event: 'scheduled',
    result: { ran: 'Scheduled Event', at: '2023-11-14T22:00:00Z', agent: 'function' },
    logs: [node('INFO', 'Received event: \\{\\}')],
  },
  {
    name: 'node-console-esm',
    runtime: 'nodejs18.x',
    handler: 'src/index.handler',
    files: ['src/index.mjs'],
    event: 'apigw-http',
    result: { statusCode: 200, body: '{"item":"book","remaining":true}' },
    logs: [node('INFO', 'EVENT: \\n\\{\\n  "path": "/orders",\\n  "method": "POST"\\n\\}')],
  },
  {
    name: 'node-sam-template',
    runtime: 'nodejs18.x',
    handler: 'app.lambdaHandler',
    files: ['app.js'],
    event: 'direct',
    result: (id: string) => ({ statusCode: 200, body: JSON.stringify({ message: 'hello world', requestId: id }) }),
    logs: [],
  },
  {
    name: 'node-async-callback',
    runtime: 'nodejs18.x',
    handler: 'mixed.lambda_handler',
    files: ['mixed.js'],
    event: 'direct',
    result: { statusCode: 200, body: '{"count":3}' },
    logs: [node('INFO', 'collecting usage for Ada')],
  },
  {
    name: 'node-ses-filter',
    runtime: 'nodejs18.x',
    handler: 'ses-filter.handler',
    files: ['ses-filter.js'],
    event: 'ses',
    result: { disposition: 'CONTINUE', pool: 'object' },
    logs: [node('INFO', 'us-east-1: mail from sender@example.com: Order 1234')],
  },
  {
    name: 'node-esm-in-js',
    runtime: 'nodejs18.x',
    handler: 'netlify-style.handler',
    files: ['netlify-style.js'],
    event: 'apigw-rest',
    result: { statusCode: 200, body: '{"data":"hello world","status":"success"}' },
    logs: [],
  },
  {
    name: 'node-rejects',
    runtime: 'nodejs18.x',
    handler: 'throws.handler',
    files: ['throws.js'],
    event: 'apigw-rest',
    error: { code: 'FUNCTION_ERROR', type: 'ValidationError', message: /missing id/ },
    logs: [],
  },
];

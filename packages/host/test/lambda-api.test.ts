import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  DeleteAliasCommand,
  DeleteFunctionCommand,
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  InvalidParameterValueException,
  InvalidRequestContentException,
  InvokeCommand,
  LambdaClient,
  ListAliasesCommand,
  ListFunctionsCommand,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  ResourceConflictException,
  ResourceNotFoundException,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { serve } from '@hono/node-server';
import { createZip } from '@nanogrid/core';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHost, makeHost } from './helpers.js';

const KEY = { accessKeyId: 'AKIDNANOGRIDTEST', secretAccessKey: 'secret-for-tests-only' };
const ACCOUNT = '123456789012';

const zipOf = (code: string, file = 'lambda_function.py') => createZip([{ path: file, data: code }]);
const V1 = `import json
def lambda_handler(event, context):
    print("hello from v1")
    return {"statusCode": 200, "body": json.dumps({"v": 1, "name": event.get("name")})}
`;
const V2 = `import os
def lambda_handler(event, context):
    return {"v": 2, "greeting": os.environ.get("GREETING", "none")}
`;
const RAISES = `def lambda_handler(event, context):
    raise ValueError("bad input: " + str(event.get("x")))
`;

let host: TestHost;
let server: Server;
let endpoint: string;
let lambda: LambdaClient;
const client = (credentials = KEY) => new LambdaClient({ endpoint, region: 'eu-west-1', credentials, maxAttempts: 1 });
const decode = (p: Uint8Array | undefined) => JSON.parse(new TextDecoder().decode(p));

beforeAll(async () => {
  host = await makeHost(
    { apiKeys: ['an-api-key'], rateLimit: false },
    { lambda: { region: 'eu-west-1', accountId: ACCOUNT, credentials: [KEY] } },
  );
  await new Promise<void>((resolve) => {
    server = serve({ fetch: host.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve()) as Server;
  });
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  lambda = client();
}, 60_000);

afterAll(async () => {
  lambda?.destroy();
  await new Promise((r) => server?.close(r));
  await host?.close();
});

describe('the Lambda API through @aws-sdk/client-lambda', () => {
  const name = `sdk-fn-${Date.now()}`;

  it('creates, reads and lists a function', async () => {
    const created = await lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Runtime: 'python3.11',
        Role: `arn:aws:iam::${ACCOUNT}:role/any`,
        Handler: 'lambda_function.lambda_handler',
        Code: { ZipFile: await zipOf(V1) },
        Timeout: 20,
        MemorySize: 256,
      }),
    );
    expect(created).toMatchObject({
      FunctionName: name,
      FunctionArn: `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:${name}`,
      Runtime: 'python3.11',
      Handler: 'lambda_function.lambda_handler',
      Timeout: 20,
      MemorySize: 256,
      Version: '$LATEST',
      State: 'Active',
    });
    expect(created.CodeSha256).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const got = await lambda.send(new GetFunctionCommand({ FunctionName: created.FunctionArn! }));
    expect(got.Configuration?.FunctionName).toBe(name);
    const conf = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
    expect(conf.Timeout).toBe(20);
    const list = await lambda.send(new ListFunctionsCommand({}));
    expect(list.Functions?.map((f) => f.FunctionName)).toContain(name);
  });

  it('invokes RequestResponse with the log tail, Event (202) and DryRun (204)', async () => {
    const res = await lambda.send(
      new InvokeCommand({ FunctionName: name, Payload: JSON.stringify({ name: 'Ada' }), LogType: 'Tail' }),
    );
    expect(res.StatusCode).toBe(200);
    expect(res.FunctionError).toBeUndefined();
    expect(res.ExecutedVersion).toBe('$LATEST');
    const payload = decode(res.Payload);
    expect(payload.statusCode).toBe(200);
    expect(JSON.parse(payload.body)).toEqual({ v: 1, name: 'Ada' });
    const log = Buffer.from(res.LogResult ?? '', 'base64').toString();
    expect(log).toMatch(/^START RequestId: \S+ Version: \$LATEST\n/);
    expect(log).toContain('hello from v1');
    expect(log).toMatch(/END RequestId: \S+\nREPORT RequestId: \S+\tDuration: [\d.]+ ms/);

    const event = await lambda.send(new InvokeCommand({ FunctionName: name, InvocationType: 'Event', Payload: '{}' }));
    expect(event.StatusCode).toBe(202);
    const dry = await lambda.send(new InvokeCommand({ FunctionName: name, InvocationType: 'DryRun' }));
    expect(dry.StatusCode).toBe(204);
  });

  it('reports a function error as Unhandled with errorType and errorMessage', async () => {
    const failing = `${name}-raises`;
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: failing,
        Runtime: 'python3.11',
        Role: 'r',
        Handler: 'lambda_function.lambda_handler',
        Code: { ZipFile: await zipOf(RAISES) },
      }),
    );
    const res = await lambda.send(new InvokeCommand({ FunctionName: failing, Payload: '{"x": 7}' }));
    expect(res.StatusCode).toBe(200);
    expect(res.FunctionError).toBe('Unhandled');
    expect(decode(res.Payload)).toMatchObject({
      errorType: 'ValueError',
      errorMessage: expect.stringContaining('bad input: 7'),
    });
  });

  it('names load failures as Lambda does: Runtime.ImportModuleError and Runtime.HandlerNotFound', async () => {
    const cases = [
      [
        `${name}-import`,
        'import no_such_module_here\ndef lambda_handler(event, context):\n    return 1\n',
        'Runtime.ImportModuleError',
      ],
      [`${name}-nohandler`, 'def other(event, context):\n    return 1\n', 'Runtime.HandlerNotFound'],
    ] as const;
    for (const [fn, code, type] of cases) {
      await lambda.send(
        new CreateFunctionCommand({
          FunctionName: fn,
          Runtime: 'python3.11',
          Role: 'r',
          Handler: 'lambda_function.lambda_handler',
          Code: { ZipFile: await zipOf(code) },
        }),
      );
      const res = await lambda.send(new InvokeCommand({ FunctionName: fn, Payload: '{}' }));
      expect(res.FunctionError).toBe('Unhandled');
      expect(decode(res.Payload)).toMatchObject({ errorType: type });
    }
  });

  it('maps code and configuration updates, versions and aliases onto NanoGrid versions', async () => {
    const updated = await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: name, ZipFile: await zipOf(V2), Publish: true }),
    );
    expect(updated.Version).toBe('2');
    expect(updated.Timeout).toBe(20); // settings carry over to the new code
    const configured = await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: name,
        Timeout: 30,
        Environment: { Variables: { GREETING: 'hi' } },
      }),
    );
    expect(configured).toMatchObject({ Timeout: 30, Environment: { Variables: { GREETING: 'hi' } } });
    const published = await lambda.send(new PublishVersionCommand({ FunctionName: name }));
    expect(published.Version).toBe('3');
    const versions = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: name }));
    expect(versions.Versions?.map((v) => v.Version)).toEqual(['$LATEST', '1', '2', '3']);

    const alias = await lambda.send(new CreateAliasCommand({ FunctionName: name, Name: 'prod', FunctionVersion: '1' }));
    expect(alias).toMatchObject({ Name: 'prod', FunctionVersion: '1', AliasArn: expect.stringMatching(/:prod$/) });
    const viaAlias = await lambda.send(new InvokeCommand({ FunctionName: name, Qualifier: 'prod', Payload: '{}' }));
    expect(viaAlias.ExecutedVersion).toBe('1');
    expect(JSON.parse(decode(viaAlias.Payload).body)).toMatchObject({ v: 1 });

    await lambda.send(new UpdateAliasCommand({ FunctionName: name, Name: 'prod', FunctionVersion: '3' }));
    expect((await lambda.send(new GetAliasCommand({ FunctionName: name, Name: 'prod' }))).FunctionVersion).toBe('3');
    const viaArn = await lambda.send(
      new InvokeCommand({ FunctionName: `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:${name}:prod`, Payload: '{}' }),
    );
    expect(decode(viaArn.Payload)).toEqual({ v: 2, greeting: 'hi' });
    const v2 = await lambda.send(new InvokeCommand({ FunctionName: name, Qualifier: '2', Payload: '{}' }));
    expect(decode(v2.Payload)).toEqual({ v: 2, greeting: 'none' });

    expect((await lambda.send(new ListAliasesCommand({ FunctionName: name }))).Aliases?.map((a) => a.Name)).toEqual([
      'prod',
    ]);
    await lambda.send(new DeleteAliasCommand({ FunctionName: name, Name: 'prod' }));
    await expect(lambda.send(new GetAliasCommand({ FunctionName: name, Name: 'prod' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('raises the typed exceptions the SDK knows', async () => {
    await expect(lambda.send(new GetFunctionCommand({ FunctionName: 'no-such-fn' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'no-such-fn', Payload: '{}' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await expect(
      lambda.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Runtime: 'python3.11',
          Role: 'r',
          Handler: 'lambda_function.lambda_handler',
          Code: { ZipFile: await zipOf(V1) },
        }),
      ),
    ).rejects.toBeInstanceOf(ResourceConflictException);
    await expect(
      lambda.send(
        new CreateFunctionCommand({
          FunctionName: `${name}-badzip`,
          Runtime: 'python3.11',
          Role: 'r',
          Handler: 'x.y',
          Code: { ZipFile: new TextEncoder().encode('this is not a zip') },
        }),
      ),
    ).rejects.toBeInstanceOf(InvalidParameterValueException);
    await expect(
      lambda.send(
        new CreateFunctionCommand({
          FunctionName: `${name}-cobol`,
          Runtime: 'cobol85' as 'python3.11', // not a runtime the SDK's types know, on purpose
          Role: 'r',
          Handler: 'x.y',
          Code: { ZipFile: await zipOf(V1) },
        }),
      ),
    ).rejects.toBeInstanceOf(InvalidParameterValueException);
    await expect(
      lambda.send(new InvokeCommand({ FunctionName: name, Payload: new TextEncoder().encode('{not json') })),
    ).rejects.toBeInstanceOf(InvalidRequestContentException);
  });

  it('refuses unsigned, wrongly signed and unknown-key requests', async () => {
    const wrongSecret = client({ ...KEY, secretAccessKey: 'not-the-secret' });
    await expect(wrongSecret.send(new ListFunctionsCommand({}))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
      $metadata: { httpStatusCode: 403 },
    });
    const unknown = client({ accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x' });
    await expect(unknown.send(new ListFunctionsCommand({}))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
    });
    const plain = await fetch(`${endpoint}/2015-03-31/functions`);
    expect(plain.status).toBe(403);
    expect(plain.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
    // An API key is not a signature, and a signature is not an API key.
    const bearer = await fetch(`${endpoint}/2015-03-31/functions`, { headers: { authorization: 'Bearer an-api-key' } });
    expect(bearer.status).toBe(403);
    expect((await fetch(`${endpoint}/functions`)).status).toBe(401);
  });

  it('deletes a version, then the function', async () => {
    await lambda.send(new DeleteFunctionCommand({ FunctionName: name, Qualifier: '2' }));
    const left = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: name }));
    expect(left.Versions?.map((v) => v.Version)).toEqual(['$LATEST', '1', '3']);
    await lambda.send(new DeleteFunctionCommand({ FunctionName: name }));
    await expect(lambda.send(new GetFunctionCommand({ FunctionName: name }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });
});

describe('hostile requests to the Lambda API', () => {
  /** Signs a request by hand, so a test can change it after signing. */
  async function signed(path: string, body: string, opts: { date?: Date; method?: string } = {}) {
    const url = new URL(`${endpoint}${path}`);
    const signer = new SignatureV4({
      credentials: KEY,
      region: 'eu-west-1',
      service: 'lambda',
      sha256: Hash.bind(null, 'sha256'),
    });
    const req = await signer.sign(
      {
        method: opts.method ?? 'POST',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        query: {},
        headers: { host: url.host, 'content-type': 'application/json' },
        body,
      },
      opts.date ? { signingDate: opts.date } : {},
    );
    return req.headers as Record<string, string>;
  }
  const errorType = (r: Response) => r.headers.get('x-amzn-errortype');

  it('refuses a body changed after signing, and a replay from outside the 15-minute window', async () => {
    const path = '/2015-03-31/functions/no-such/invocations';
    const headers = await signed(path, '{"a":1}');
    const tampered = await fetch(`${endpoint}${path}`, { method: 'POST', headers, body: '{"a":2}' });
    expect(tampered.status).toBe(403);
    expect(errorType(tampered)).toBe('InvalidSignatureException');
    const old = await signed(path, '{}', { date: new Date(Date.now() - 20 * 60_000) });
    const replay = await fetch(`${endpoint}${path}`, { method: 'POST', headers: old, body: '{}' });
    expect(errorType(replay)).toBe('InvalidSignatureException');
    expect(((await replay.json()) as { Message: string }).Message).toMatch(/expired/i);
    // The same request, signed now, gets through the signature check to the function lookup.
    const fresh = await fetch(`${endpoint}${path}`, { method: 'POST', headers: await signed(path, '{}'), body: '{}' });
    expect(errorType(fresh)).toBe('ResourceNotFoundException');
  });

  it.each(['..%2F..%2Fetc', 'a%2Fb', `${'x'.repeat(65)}`, 'arn:aws:s3:::bucket', 'name:with:too:many', 'bad%00name'])(
    'refuses the function name %s with InvalidParameterValueException',
    async (name) => {
      const path = `/2015-03-31/functions/${name}/configuration`;
      const r = await fetch(`${endpoint}${path}`, {
        method: 'GET',
        headers: await signed(path, '', { method: 'GET' }),
      });
      expect([400, 404]).toContain(r.status);
      expect(['InvalidParameterValueException', 'UnknownOperationException']).toContain(errorType(r));
    },
  );

  it('answers an oversized Invoke payload with RequestTooLargeException, and keeps serving', async () => {
    const big = JSON.stringify({ blob: 'x'.repeat(7 * 1024 * 1024) });
    await expect(
      lambda.send(new InvokeCommand({ FunctionName: 'anything', Payload: new TextEncoder().encode(big) })),
    ).rejects.toMatchObject({ name: 'RequestTooLargeException' });
    expect((await lambda.send(new ListFunctionsCommand({}))).Functions).toBeDefined();
  });

  it('refuses code given as an S3 location or a container image', async () => {
    await expect(
      lambda.send(
        new CreateFunctionCommand({
          FunctionName: 'from-s3',
          Runtime: 'python3.11',
          Role: 'r',
          Handler: 'a.b',
          Code: { S3Bucket: 'bucket', S3Key: 'key.zip' },
        }),
      ),
    ).rejects.toBeInstanceOf(InvalidParameterValueException);
  });
});

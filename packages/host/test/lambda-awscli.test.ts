import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { serve } from '@hono/node-server';
import { createZip, findExecutable } from '@nanogrid/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHost, makeHost } from './helpers.js';

const run = promisify(execFile);
const KEY = { accessKeyId: 'AKIDCLITEST', secretAccessKey: 'cli-secret' };

/** Debian's awscli lives in /usr/bin; a pyenv shim earlier on PATH may not run it. */
async function findAws(): Promise<string | undefined> {
  for (const dir of ['/usr/bin', '/usr/local/bin', ...(process.env.PATH ?? '').split(':')]) {
    const aws = findExecutable('aws', [dir]);
    if (
      aws &&
      (await run(aws, ['--version']).then(
        () => true,
        () => false,
      ))
    )
      return aws;
  }
  return undefined;
}
const aws = await findAws();
if (!aws && process.env.CI === 'true')
  throw new Error('the aws CLI (Debian package awscli) must be installed with CI=true');

describe.skipIf(!aws)('the Lambda API through the real aws CLI', () => {
  let host: TestHost;
  let server: Server;
  let dir: string;
  let cli: (...args: string[]) => Promise<{ stdout: string; stderr: string }>;

  beforeAll(async () => {
    host = await makeHost({ apiKeys: ['k'], rateLimit: false }, { lambda: { credentials: [KEY] } });
    await new Promise<void>((resolve) => {
      server = serve({ fetch: host.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve()) as Server;
    });
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-awscli-'));
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      AWS_ACCESS_KEY_ID: KEY.accessKeyId,
      AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: join(dir, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
      AWS_PAGER: '',
    };
    cli = (...args) => run(aws!, ['lambda', ...args, '--endpoint-url', endpoint, '--output', 'json'], { env });
  }, 60_000);

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    await host?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('create-function, invoke, list-functions, get-function and the errors it parses', async () => {
    const zip = join(dir, 'fn.zip');
    await writeFile(
      zip,
      await createZip([{ path: 'index.js', data: 'exports.handler = async (event) => ({ hi: event.name });\n' }]),
    );
    const created = JSON.parse(
      (
        await cli(
          'create-function',
          '--function-name',
          'cli-fn',
          '--runtime',
          'nodejs18.x',
          '--role',
          'arn:aws:iam::000000000000:role/r',
          '--handler',
          'index.handler',
          '--zip-file',
          `fileb://${zip}`,
        )
      ).stdout,
    );
    expect(created).toMatchObject({ FunctionName: 'cli-fn', Runtime: 'nodejs18.x', Version: '$LATEST' });

    const out = join(dir, 'out.json');
    const invoked = JSON.parse(
      (
        await cli(
          'invoke',
          '--function-name',
          'cli-fn',
          '--cli-binary-format',
          'raw-in-base64-out',
          '--payload',
          '{"name":"cli"}',
          '--log-type',
          'Tail',
          out,
        )
      ).stdout,
    );
    expect(invoked).toMatchObject({ StatusCode: 200, ExecutedVersion: '$LATEST' });
    expect(Buffer.from(invoked.LogResult, 'base64').toString()).toContain('REPORT RequestId:');
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual({ hi: 'cli' });

    const list = JSON.parse((await cli('list-functions')).stdout);
    expect(list.Functions.map((f: { FunctionName: string }) => f.FunctionName)).toContain('cli-fn');
    const got = JSON.parse((await cli('get-function', '--function-name', 'cli-fn')).stdout);
    expect(got.Configuration.Handler).toBe('index.handler');

    const missing = await cli('get-function', '--function-name', 'nope').then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(missing?.code).toBe(254);
    expect(missing?.stderr).toContain('ResourceNotFoundException');
  }, 120_000); // each aws call starts a Python interpreter
});

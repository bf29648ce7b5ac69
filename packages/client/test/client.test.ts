import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Job, NanoGridApiError, NanoGridClient, isNanoGridApiError } from '../src/index.js';

type Handler = (req: Request) => Response | Promise<Response>;

/** A client whose fetch answers from `handler`, recording the requests. */
function clientWith(handler: Handler, opts: { apiKey?: string } = {}) {
  const seen: Request[] = [];
  const client = new NanoGridClient({
    url: 'http://ng.test/',
    ...opts,
    fetch: async (input, init) => {
      const req = new Request(input, init);
      seen.push(req.clone());
      return handler(req);
    },
  });
  return { client, seen };
}

const json = (body: unknown, status = 200) => Response.json(body, { status });
const job = (over: Partial<Job> = {}): Job => ({
  job_id: 'j1',
  function_id: 'f1',
  status: 'completed',
  result: { ok: 1 },
  output_files: [],
  created_at: 't',
  updated_at: 't',
  ...over,
});

async function thrown(p: Promise<unknown>): Promise<NanoGridApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof NanoGridApiError) return err;
    throw err;
  }
  throw new Error('expected a NanoGridApiError');
}

describe('NanoGridClient', () => {
  it('maps an error answer onto NanoGridApiError with the server code, status and field', async () => {
    const { client } = clientWith(() =>
      json(
        { error: { code: 'VALIDATION_FAILED', message: 'bad', field: 'version', details: { field: 'version' } } },
        400,
      ),
    );
    const err = await thrown(client.setAlias('f', 'prod', 1));
    expect(err).toMatchObject({ code: 'VALIDATION_FAILED', status: 400, field: 'version', message: 'bad' });
    expect(isNanoGridApiError(err, 'VALIDATION_FAILED')).toBe(true);
  });

  it('a sync run of a failed job returns the job (status failed), not an exception', async () => {
    const failed = job({
      status: 'failed',
      result: undefined,
      error: { code: 'FUNCTION_ERROR', message: 'boom', type: 'ValueError' },
    });
    const { client, seen } = clientWith(() => json(failed, 500));
    expect(await client.run('hello:prod', { a: 1 })).toEqual(failed);
    expect(await seen[0]?.json()).toEqual({ function: 'hello:prod', payload: { a: 1 } });
    expect(seen[0]?.headers.get('content-type')).toBe('application/json');
  });

  it('sends the API key, and encodes references and aliases into the path', async () => {
    const { client, seen } = clientWith(() => json({ function_id: 'f', function_name: 'a/b', deleted: true }), {
      apiKey: 'k1',
    });
    await client.deleteFunction('hello:3');
    await client.deleteAlias('../x', 'a b');
    expect(seen[0]?.headers.get('authorization')).toBe('Bearer k1');
    expect(new URL(seen[0]?.url ?? '').pathname).toBe('/functions/hello%3A3');
    expect(new URL(seen[1]?.url ?? '').pathname).toBe('/functions/..%2Fx/aliases/a%20b');
  });

  it('no server: UNREACHABLE naming the URL; garbage: BAD_RESPONSE', async () => {
    const down = new NanoGridClient({
      url: 'http://127.0.0.1:9',
      fetch: () => Promise.reject(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } })),
    });
    expect(await thrown(down.health())).toMatchObject({
      code: 'UNREACHABLE',
      status: 0,
      message: expect.stringContaining('ECONNREFUSED'),
    });
    const { client } = clientWith(
      () => new Response('<html>proxy error</html>', { status: 502, headers: { 'content-type': 'text/html' } }),
    );
    expect(await thrown(client.health())).toMatchObject({ code: 'BAD_RESPONSE', status: 502 });
    const { client: broken } = clientWith(
      () => new Response('{"error":', { status: 500, headers: { 'content-type': 'application/json' } }),
    );
    expect((await thrown(broken.status('j'))).code).toBe('BAD_RESPONSE');
  });

  it('wait() polls until the job is final, and gives up with WAIT_TIMEOUT', async () => {
    let polls = 0;
    const { client } = clientWith(() => json(job(++polls < 3 ? { status: 'running', result: undefined } : {})));
    const updates: string[] = [];
    expect(await client.wait('j1', { intervalMs: 1, onUpdate: (j) => updates.push(j.status) })).toMatchObject({
      status: 'completed',
    });
    expect(updates).toEqual(['running', 'running', 'completed']);
    const { client: stuck } = clientWith(() => json(job({ status: 'pending' })));
    expect((await thrown(stuck.wait('j1', { intervalMs: 5, timeoutMs: 20 }))).code).toBe('WAIT_TIMEOUT');
  });

  it('deploy sends the original multipart fields', async () => {
    const { client, seen } = clientWith(() => json({ function_id: 'f', version: 2 }, 201));
    await client.deploy({
      name: 'hello',
      runtime: 'python3.11',
      code: new TextEncoder().encode('print(1)'),
      fileName: 'main.py',
      timeout: 30,
      memoryMb: 256,
      network: 'none',
      env: { A: 'b' },
    });
    const form = await seen[0]?.formData();
    expect(Object.fromEntries([...(form?.entries() ?? [])].filter(([k]) => k !== 'file'))).toEqual({
      function_name: 'hello',
      runtime: 'python3.11',
      timeout: '30',
      memory_mb: '256',
      network: 'none',
      env: '{"A":"b"}',
    });
    const file = form?.get('file') as File;
    expect(file.name).toBe('main.py');
    expect(await file.text()).toBe('print(1)');
  });

  it('the package has no Node-only imports (it runs in a browser)', async () => {
    const dir = join(import.meta.dirname, '../src');
    for (const f of await readdir(dir)) {
      const text = await readFile(join(dir, f), 'utf8');
      expect(text, f).not.toMatch(/from ['"]node:|require\(|\bBuffer\b|process\./);
    }
  });
});

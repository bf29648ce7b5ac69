import { createZip } from '@nanogrid/core';
import { dockerTestEnv } from '@nanogrid/sandbox-docker/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEngineHost } from './engine-host.js';
import { type TestHost, run, upload } from './helpers.js';
import { CORPUS, type CorpusCase, corpusEvent, corpusFile } from './lambda-corpus/corpus.js';

interface Job {
  job_id: string;
  status: string;
  start?: string;
  result?: unknown;
  error?: { code: string; type?: string; message: string; trace?: string };
  logs?: string;
}

const env = await dockerTestEnv(['nanogrid/python:3', 'nanogrid/node:18']);

async function deployCase(host: TestHost, c: CorpusCase): Promise<string> {
  const [only] = c.files;
  const file =
    c.files.length === 1 && only !== undefined && !only.includes('/')
      ? { name: only, content: corpusFile(c, only) }
      : {
          name: `${c.name}.zip`,
          content: await createZip(c.files.map((path) => ({ path, data: corpusFile(c, path) }))),
        };
  const res = await upload(host.app, { file, function_name: c.name, runtime: c.runtime, handler: c.handler });
  const body = (await res.json()) as { function_id?: string; error?: unknown };
  expect(res.status, JSON.stringify(body)).toBe(201);
  return String(body.function_id);
}

/** What Lambda would have answered, and printed: result (or error) and log lines. */
function expectLambdaAnswer(c: CorpusCase, job: Job): void {
  const logs = job.logs ?? '';
  if (c.error) {
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({
      code: c.error.code,
      type: c.error.type,
      message: expect.stringMatching(c.error.message),
    });
    expect(job.error?.trace ?? '').not.toMatch(/__nanogrid_/);
  } else {
    expect(job, logs).toMatchObject({ status: 'completed' });
    expect(job.result).toEqual(typeof c.result === 'function' ? c.result(job.job_id) : c.result);
  }
  for (const wanted of c.logs) expect(logs).toMatch(wanted(job.job_id));
  for (const unwanted of c.absent ?? []) expect(logs).not.toMatch(unwanted);
}

const sandboxes = [
  { sandbox: 'process', ready: true, reason: '' },
  { sandbox: 'docker', ...env },
] as const;

/**
 * Lambda handlers as people write them, unchanged, with realistic events: the
 * result and the logs Lambda gives, on a fresh process / container per call
 * (cold) and on warm instances (the first call starts one, the second reuses it).
 */
describe.each(sandboxes)('Lambda handler corpus ($sandbox sandbox)', ({ sandbox, ready, reason }) => {
  if (!ready) return void it.skip(`needs Docker: ${reason}`);
  let warm: TestHost;
  let cold: TestHost;
  beforeAll(async () => {
    [warm, cold] = await Promise.all([
      makeEngineHost({ sandbox, warm: { enabled: true, prewarm: {} } }),
      makeEngineHost({ sandbox, warm: { enabled: false } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([warm?.close(), cold?.close()]);
  });

  const invoke = async (host: TestHost, id: string, c: CorpusCase): Promise<Job> =>
    (await run(host.app, { function_id: id, payload: corpusEvent(c) })).json() as Promise<Job>;

  it.each(CORPUS.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const [warmId, coldId] = await Promise.all([deployCase(warm, c), deployCase(cold, c)]);
    const once = await invoke(cold, coldId, c);
    expect(once.start).toBe('cold');
    expectLambdaAnswer(c, once);
    const first = await invoke(warm, warmId, c);
    const second = await invoke(warm, warmId, c);
    expect([first.start, second.start]).toEqual(['cold', 'warm']);
    expectLambdaAnswer(c, first);
    expectLambdaAnswer(c, second);
  });

  it('covers the event sources and styles it claims', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(12);
    for (const runtime of ['python3.11', 'nodejs18.x']) expect(CORPUS.some((c) => c.runtime === runtime)).toBe(true);
    for (const event of ['apigw-rest', 'apigw-http', 'ses', 'scheduled', 'direct'])
      expect(CORPUS.some((c) => c.event === event)).toBe(true);
  });
});

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { dockerTestEnv } from '@nanogrid/sandbox-docker/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AiStub, startAiStub, summarizeLikeAModel } from '../src/demo/ai-stub.js';
import { type JobJson, PYTHON_IMAGES, example, makeEngineHost } from './engine-host.js';
import { type TestHost, deploy, run } from './helpers.js';

const docker = await dockerTestEnv(PYTHON_IMAGES);

const TEXT =
  'The quarterly report shows revenue grew by twelve percent. Costs stayed flat while the team shipped two products. ' +
  'Customers asked for better exports, which the next release will bring.';

const ENV_PY = `import os

def handler(event, context):
    return {"env": os.environ.get("AI_ENDPOINT"), "context": context.ai_endpoint}
`;

describe('the AI stub (Ollama-compatible)', () => {
  let stub: AiStub;
  beforeAll(async () => {
    stub = await startAiStub();
  });
  afterAll(async () => {
    await stub?.close();
  });

  it('answers /api/generate and /api/chat, streamed as NDJSON unless stream is false, and records each request', async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${stub.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
    const generated = (await (
      await post('/api/generate', { model: 'm1', prompt: 'Do it.\n\nFirst one. Second one.', stream: false })
    ).json()) as Record<string, unknown>;
    expect(generated).toMatchObject({ model: 'm1', response: 'Summary: First one.', done: true });

    const chat = await post('/api/chat', {
      model: 'm2',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'Hi there. More.' },
      ],
    });
    expect(chat.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await chat.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { message: { content: string }; done: boolean });
    expect(lines.map((l) => l.message.content).join('')).toBe('Summary: Hi there.');
    expect(lines.at(-1)?.done).toBe(true);

    expect((await post('/api/generate', { prompt: 'no model' })).status).toBe(400);
    expect(await (await fetch(stub.url)).text()).toBe('Ollama is running');
    expect(stub.requests.map((r) => [r.path, r.body.model, r.reply])).toEqual([
      ['/api/generate', 'm1', 'Summary: First one.'],
      ['/api/chat', 'm2', 'Summary: Hi there.'],
    ]);
  });
});

/**
 * The summarizer example through the engine: `ai: { endpoint }` becomes
 * AI_ENDPOINT, the function calls the stub, and the stub saw the model and text.
 */
describe.each([
  // The process sandbox reaches the loopback directly.
  { sandbox: 'process' as const, ready: true, listen: '127.0.0.1' },
  // Containers on the internal `ai` network reach the host through the bridge: listen everywhere, as Ollama's OLLAMA_HOST=0.0.0.0.
  { sandbox: 'docker' as const, ready: docker.ready, listen: '0.0.0.0' },
])('private AI in the $sandbox sandbox', ({ sandbox, ready, listen }) => {
  let stub: AiStub;
  let host: TestHost;
  let summarizer: string;
  beforeAll(async () => {
    if (!ready) return;
    stub = await startAiStub({ host: listen });
    host = await makeEngineHost({ sandbox, ai: { endpoint: stub.url } });
    summarizer = await deploy(host.app, 'summarizer', await example('summarizer.py'), {
      handler: 'summarizer.handler',
      network: 'ai',
    });
  });
  afterAll(async () => {
    await host?.close();
    await stub?.close();
  });

  const runJob = async (functionId: string, payload: unknown): Promise<JobJson> =>
    (await (await run(host.app, { function_id: functionId, payload })).json()) as JobJson;

  it.skipIf(!ready)(
    'every function gets AI_ENDPOINT (and context.ai_endpoint), whatever its network policy',
    async () => {
      const none = await runJob(await deploy(host.app, 'env-none', ENV_PY), {});
      expect(none.result).toEqual({ env: stub.url, context: stub.url });
      const ai = await runJob(await deploy(host.app, 'env-ai', ENV_PY, { network: 'ai' }), {});
      // In a container the loopback is the container's own: the sandbox points it at the Docker host.
      const seen = sandbox === 'docker' ? stub.url.replace('127.0.0.1', 'host.docker.internal') : stub.url;
      expect(ai.result).toEqual({ env: seen, context: seen });
    },
  );

  it.skipIf(!ready)(
    'the summarizer sends the model and the text to /api/generate and returns the summary',
    async () => {
      const before = stub.requests.length;
      const job = await runJob(summarizer, { text: TEXT, model: 'llama3.2:1b', max_words: 20 });
      expect(job.status).toBe('completed');
      expect(stub.requests).toHaveLength(before + 1);
      const req = stub.requests.at(-1)!;
      expect(req).toMatchObject({
        method: 'POST',
        path: '/api/generate',
        body: { model: 'llama3.2:1b', stream: false },
      });
      expect(req.body.prompt).toContain(TEXT);
      expect(req.body.prompt).toContain('at most 20 words');
      expect(job.result).toEqual({
        summary: summarizeLikeAModel(String(req.body.prompt)),
        model: 'llama3.2:1b',
        words_in: TEXT.split(/\s+/).length,
      });
      expect(job.result?.['summary']).toBe('Summary: The quarterly report shows revenue grew by twelve percent.');
    },
  );

  it.skipIf(!ready)(
    'under policy none the endpoint is out of reach: the function fails and the stub hears nothing',
    async () => {
      // Only an isolating sandbox can take the network away (the bare process sandbox shares the host's).
      if (!host.nanogrid.sandbox.isolated) return;
      const closed = await deploy(host.app, 'summarizer-none', await example('summarizer.py'), {
        handler: 'summarizer.handler',
        network: 'none',
      });
      const before = stub.requests.length;
      const job = await runJob(closed, { text: TEXT });
      expect(job.error).toMatchObject({ code: 'FUNCTION_ERROR', type: 'RuntimeError' });
      expect(job.error?.message).toContain('cannot reach the AI endpoint');
      expect(stub.requests).toHaveLength(before);
    },
  );

  // Docker only: the process sandbox has no such network, so the case is not declared there.
  if (sandbox === 'docker') {
    it.skipIf(!ready)('policy ai runs on an internal Docker network (no route out of the machine)', async () => {
      const { stdout } = await promisify(execFile)('docker', [
        'network',
        'inspect',
        'nanogrid-ai',
        '--format',
        '{{.Internal}}',
      ]);
      expect(stdout.trim()).toBe('true');
    });
  }
});

import { eventually } from '@nanogrid/core/testing';
import { dockerTestEnv } from '@nanogrid/sandbox-docker/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PYTHON_IMAGES, containersLabelled, makeEngineHost } from './engine-host.js';
import { type TestHost, deploy, run } from './helpers.js';

const env = await dockerTestEnv(PYTHON_IMAGES);

/** Prints, then sleeps in short steps forever: a running job to cancel. */
const SLEEPER_PY = `import time

def handler(event, context):
    print("in the container", flush=True)
    while True:
        time.sleep(0.05)
`;

type Job = { job_id: string; status: string; error?: { code: string } };

/** Cancel end to end in the Docker sandbox: the running job's container is gone afterwards, cold and warm. */
describe.skipIf(!env.ready).each([{ warm: false }, { warm: true }])('cancel in Docker (warm $warm)', ({ warm }) => {
  let host: TestHost;
  let sleeper: string;

  beforeAll(async () => {
    host = await makeEngineHost({ sandbox: 'docker', warm: { enabled: warm, prewarm: {} } });
    sleeper = await deploy(host.app, `sleeper-${warm ? 'warm' : 'cold'}`, SLEEPER_PY, { timeout: '120' });
  }, 120_000);
  afterAll(async () => {
    await host?.close();
  });

  it('kills the running container: the job ends cancelled, its follower hears its line then the end', async () => {
    const res = await run(host.app, { function_id: sleeper, payload: {} }, { 'x-async': 'true' });
    const { job_id } = (await res.json()) as Job;
    // The follower reads the stream as it comes: the job's line, then (after the cancel) the end.
    const stream = await host.app.request(`/jobs/${job_id}/logs?follow=1`);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const reader = stream.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('in the container')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toContain('event: log');
    expect(await containersLabelled('nanogrid.function', sleeper)).not.toEqual([]);

    const cancel = await host.app.request(`/jobs/${job_id}/cancel`, { method: 'POST' });
    expect(((await cancel.json()) as Job).status).toBe('cancelled');
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toMatch(/event: end\ndata: \{"job_id":"[^"]+","status":"cancelled"/);
    // The container that ran it is gone (a warm one is not handed out again: it was killed mid-call).
    await eventually(async () => expect(await containersLabelled('nanogrid.function', sleeper)).toEqual([]), 15_000);
    expect(((await (await host.app.request(`/jobs/${job_id}`)).json()) as Job).status).toBe('cancelled');
  }, 90_000);
});

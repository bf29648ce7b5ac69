import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@nanogrid/core';
import { createController } from '../src/index.js';
import { HELLO_PY, type TestHost, deploy, makeHost, run } from './helpers.js';

const SLOW_PY = 'import time\n\ndef handler(event, context):\n    time.sleep(2)\n    return {"slow": True}\n';

describe('GET /metrics and sync back-pressure', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await makeHost();
  });
  afterAll(async () => {
    await host?.close();
  });

  it('serves Prometheus text with per-function invocations, behind the API keys when they are set', async () => {
    const open = createController({
      registry: host.nanogrid.registry,
      jobs: host.nanogrid.jobs,
      storage: host.nanogrid.storage,
      metrics: host.nanogrid.metrics,
      logger: silentLogger,
    });
    const id = await deploy(open, 'hello', HELLO_PY);
    expect((await run(open, { function_id: id, payload: { name: 'm' } })).status).toBe(200);
    await host.nanogrid.autoscaler.tick();
    let text = '';
    // Recorded right after the delivery's ack, a moment after the answer.
    const until = Date.now() + 5000;
    while (!text.includes(`function_id="${id}"`) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
      text = await (await open.request('/metrics')).text();
    }
    expect(text).toContain(`nanogrid_invocations_total{function_id="${id}",status="completed",code=""} 1`);
    expect(text).toMatch(/^nanogrid_queue_depth 0$/m);
    expect(text).toMatch(/^nanogrid_desired_workers 2$/m);
    const res = await open.request('/metrics');
    expect(res.headers.get('content-type')).toContain('text/plain');

    const locked = createController({
      registry: host.nanogrid.registry,
      jobs: host.nanogrid.jobs,
      storage: host.nanogrid.storage,
      metrics: host.nanogrid.metrics,
      http: { apiKeys: ['k'] },
      logger: silentLogger,
    });
    expect((await locked.request('/metrics')).status).toBe(401);
    expect((await locked.request('/metrics', { headers: { authorization: 'Bearer k' } })).status).toBe(200);
  });

  it('over http.maxInflight waiting sync runs → 429 TOO_MANY_REQUESTS with Retry-After; async still accepted', async () => {
    const app = createController({
      registry: host.nanogrid.registry,
      jobs: host.nanogrid.jobs,
      storage: host.nanogrid.storage,
      http: { maxInflight: 1 },
      logger: silentLogger,
    });
    const slow = await deploy(app, 'slow', SLOW_PY);
    const first = run(app, { function_id: slow });
    // The first request is waiting once its job exists: wait for that event rather than a fixed time.
    while ((host.nanogrid.worker?.inFlight ?? 0) === 0) await new Promise((r) => setTimeout(r, 20));
    const second = await run(app, { function_id: slow });
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('1');
    expect(((await second.json()) as { error: { code: string } }).error.code).toBe('TOO_MANY_REQUESTS');
    expect((await run(app, { function_id: slow }, { 'x-async': 'true' })).status).toBe(202);
    expect((await first).status).toBe(200);
    expect((await run(app, { function_id: slow })).status).toBe(200); // the slot is free again
  }, 30_000);
});

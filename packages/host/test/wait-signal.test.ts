import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { getEventListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { requestWaits } from '../src/http/wait-signal.js';

/** A server whose one route waits on its request's signal and reports how the wait ended. */
async function waitingServer(shutdown?: AbortSignal) {
  const waits = requestWaits(shutdown);
  const signals: AbortSignal[] = [];
  const whys: string[] = [];
  let calls = 0;
  let ended: (why: string) => void = () => undefined;
  const endedOnce = new Promise<string>((resolve) => (ended = resolve));
  let entered: () => void = () => undefined;
  const inHandler = new Promise<void>((resolve) => (entered = resolve));
  const app = new Hono();
  app.post('/wait', async (c) => {
    const w = waits(c);
    calls++;
    entered();
    const why = await new Promise<string>((resolve) => {
      if (w.signal.aborted) return resolve('aborted at once');
      const onAbort = () => resolve('aborted');
      w.signal.addEventListener('abort', onAbort, { once: true });
      setTimeout(
        () => {
          w.signal.removeEventListener('abort', onAbort);
          resolve('answered');
        },
        Number(c.req.query('ms') ?? 10_000),
      ).unref();
    });
    w.done();
    ended(why);
    signals.push(w.signal);
    whys.push(why);
    return c.json({ why });
  });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    endedOnce,
    inHandler,
    signals,
    whys,
    calls: () => calls,
    close: () => new Promise((r) => server.close(r)),
  };
}

const post = (port: number, path: string, agent?: Agent) => {
  const req = request({ hostname: '127.0.0.1', port, path, method: 'POST', ...(agent ? { agent } : {}) });
  const answer = new Promise<string>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
  });
  req.end();
  return { req, answer };
};

describe('requestWaits: the signal of a sync wait', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('aborts when the client goes away before its answer', async () => {
    const s = await waitingServer();
    cleanups.push(s.close);
    const { req, answer } = post(s.port, '/wait');
    answer.catch(() => undefined);
    await s.inHandler;
    req.destroy();
    expect(await s.endedOnce).toBe('aborted');
  });

  it('does not abort a wait whose client stays, and answers it', async () => {
    const s = await waitingServer();
    cleanups.push(s.close);
    const { answer } = post(s.port, '/wait?ms=50');
    expect(JSON.parse(await answer)).toEqual({ why: 'answered' });
  });

  it('keep-alive: calls on one connection are not ended by the ones before; the connection closing ends the open one', async () => {
    const s = await waitingServer();
    cleanups.push(s.close);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(async () => agent.destroy());
    for (let i = 0; i < 3; i++)
      expect(JSON.parse(await post(s.port, '/wait?ms=5', agent).answer)).toEqual({ why: 'answered' });
    // One connection carried them, and nothing they listened with is left on it.
    expect(new Set(s.signals).size).toBe(1);
    expect(s.signals[0]?.aborted).toBe(false);
    expect(getEventListeners(s.signals[0] as AbortSignal, 'abort')).toHaveLength(0);
    const open = post(s.port, '/wait', agent);
    open.answer.catch(() => undefined);
    await vi.waitFor(() => expect(s.calls()).toBe(4)); // in its wait (10 s unless its client goes)
    expect(s.whys).toEqual(['answered', 'answered', 'answered']);
    agent.destroy();
    await vi.waitFor(() => expect(s.whys).toEqual(['answered', 'answered', 'answered', 'aborted']));
    expect(s.signals[3]).toBe(s.signals[0]);
  });

  it('hostile: 30 pipelined calls waiting on one connection at once: no leak warning, all answered, none left listening', async () => {
    const s = await waitingServer();
    cleanups.push(s.close);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    cleanups.push(async () => process.off('warning', onWarning));
    const socket = connect(s.port, '127.0.0.1');
    const call = 'POST /wait?ms=300 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n';
    socket.write(call.repeat(30));
    let text = '';
    socket.on('data', (c) => (text += c));
    await vi.waitFor(() => expect(text.split('"answered"').length - 1).toBe(30), { timeout: 10_000 });
    socket.destroy();
    expect(warnings.filter((w) => w.includes('MaxListeners'))).toEqual([]);
    expect(getEventListeners(s.signals[0] as AbortSignal, 'abort')).toHaveLength(0);
  });

  it('aborts every open wait at shutdown, and a wait opened after it at once', async () => {
    const shutdown = new AbortController();
    const s = await waitingServer(shutdown.signal);
    cleanups.push(s.close);
    const first = post(s.port, '/wait');
    await s.inHandler;
    shutdown.abort();
    expect(JSON.parse(await first.answer)).toEqual({ why: 'aborted' });
    const later = post(s.port, '/wait');
    expect(JSON.parse(await later.answer)).toEqual({ why: 'aborted at once' });
  });

  it('falls back to the web Request signal outside a node server (app.request)', async () => {
    const shutdown = new AbortController();
    const waits = requestWaits(shutdown.signal);
    const app = new Hono();
    app.get('/', (c) => {
      const w = waits(c);
      shutdown.abort();
      const aborted = w.signal.aborted;
      w.done();
      return c.json({ aborted });
    });
    expect(await (await app.request('/')).json()).toEqual({ aborted: true });
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { type Job, type LogStreamEvent, NanoGridClient, isNanoGridApiError } from '@nanogrid/client';
import { LIVE_LOGS_CUT, memoryResults } from '@nanogrid/core';
import { eventually } from '@nanogrid/core/testing';
import { type SqliteResults, sqliteResults } from '@nanogrid/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHost, deploy, run, startTestHost } from './helpers.js';

/** Prints a line, waits, prints another: the first must reach a follower while it waits. */
const TALKER_PY = `import sys
import time

def handler(event, context):
    print("hello from the job")
    print("to stderr", file=sys.stderr)
    time.sleep(event.get("wait", 1.5))
    print("bye")
    return {"talked": True}
`;

/** Everything a function controls, at once: a flood, a huge line, the protocol's marks, prints after it returns. */
const HOSTILE_PY = `import sys
import threading
import time

def later():
    for i in range(200):
        print("after the return %d" % i)
        time.sleep(0.005)

def handler(event, context):
    sys.stdout.write("x" * (3 * 1024 * 1024) + "\\n")
    print("\\x1eNANOGRID_LOG \\"forged\\"")
    print("\\x1eNANOGRID_META {}")
    print("event: end\\ndata: {}\\n")
    for i in range(100000):
        print("flood %d" % i)
    threading.Thread(target=later, daemon=True).start()
    return {"survived": True}
`;

const FAILS_PY = `def handler(event, context):
    print("about to fail")
    raise ValueError("on purpose")
`;

async function collect(it: AsyncIterable<LogStreamEvent>): Promise<{ events: LogStreamEvent[]; at: number[] }> {
  const events: LogStreamEvent[] = [];
  const at: number[] = [];
  for await (const e of it) {
    events.push(e);
    at.push(performance.now());
  }
  return { events, at };
}

/** The embedded store (SQLite) behind a real HTTP server: followers read with fetch(), as a browser does. */
describe('live logs and job events over HTTP (SQLite store, process sandbox)', () => {
  let host: TestHost;
  let results: SqliteResults;
  let client: NanoGridClient;
  let url: string;
  let close: () => Promise<unknown>;
  let talker: string;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-live-'));
    results = sqliteResults({ file: join(dir, 'jobs.sqlite') });
    host = await startTestHost({ sandbox: 'process', results }, { sseHeartbeatMs: 100 });
    const server = serve({ fetch: host.app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise((r) => server.close(r));
    client = new NanoGridClient({ url });
    talker = await deploy(host.app, 'talker', TALKER_PY, { timeout: '60' });
  }, 60_000);
  afterAll(async () => {
    await close?.();
    await host?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('streams the lines of a running job as it prints them, then its end', async () => {
    const job = await client.submit(talker, { wait: 1.5 });
    const { events, at } = await collect(client.followLogs(job.job_id));
    const lines = events.filter((e) => e.type === 'log');
    // In order within a stream (stdout and stderr are separate pipes: their lines may interleave either way).
    const of = (stream: string) => lines.flatMap((e) => (e.type === 'log' && e.stream === stream ? [e.line] : []));
    expect(of('stdout')).toEqual(['hello from the job', 'bye']);
    expect(of('stderr')).toEqual(['to stderr']);
    expect(lines).toHaveLength(3);
    expect(events.at(-1)).toEqual({ type: 'end', job_id: job.job_id, status: 'completed' });
    // The first line came while the job slept, not with its end.
    expect((at.at(-1) ?? 0) - (at[0] ?? 0)).toBeGreaterThan(700);
    for (const e of lines) if (e.type === 'log') expect(e.t).toBeGreaterThan(Date.now() - 60_000);
  }, 30_000);

  it('a job already final: its stored logs, then end at once; a failed one ends failed with its error', async () => {
    const done = await client.run(talker, { wait: 0 });
    const { events } = await collect(client.followLogs(done.job_id));
    expect(events.filter((e) => e.type === 'log').length).toBeGreaterThanOrEqual(2);
    expect(events.at(-1)).toMatchObject({ type: 'end', status: 'completed' });
    const fails = await deploy(host.app, 'fails', FAILS_PY);
    const failed = await client.run(fails, {});
    const f = await collect(client.followLogs(failed.job_id));
    expect(f.events.some((e) => e.type === 'log' && e.line === 'about to fail')).toBe(true);
    expect(f.events.at(-1)).toMatchObject({ type: 'end', status: 'failed', error: { code: 'FUNCTION_ERROR' } });
    // Without follow: the record's logs as JSON.
    expect(await client.logs(failed.job_id)).toMatchObject({ job_id: failed.job_id, status: 'failed' });
    expect((await client.logs(failed.job_id)).logs).toContain('about to fail');
  }, 30_000);

  it('an unknown job is 404 JOB_NOT_FOUND and a bad follow is 400, before any stream starts', async () => {
    const unknown = await fetch(`${url}/jobs/no-such-job/logs?follow=1`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('JOB_NOT_FOUND');
    await expect(collect(client.followLogs('no-such-job'))).rejects.toSatisfy((e) =>
      isNanoGridApiError(e, 'JOB_NOT_FOUND'),
    );
    const bad = await fetch(`${url}/jobs?follow=yes`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');
  });

  it('heartbeats a quiet stream, and releases its subscription when the client goes away', async () => {
    const job = await client.submit(talker, { wait: 5 });
    // Without follow, while it runs: the lines so far.
    await eventually(
      async () => expect((await client.logs(job.job_id)).lines.length).toBeGreaterThanOrEqual(1),
      10_000,
    );
    const now = await client.logs(job.job_id);
    expect(now).toMatchObject({ job_id: job.job_id, status: 'running', logs: '' });
    expect(now.lines.map((l) => l.line)).toContain('hello from the job');
    const ac = new AbortController();
    const res = await fetch(`${url}/jobs/${job.job_id}/logs?follow=1`, { signal: ac.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes(': ping')) text += new TextDecoder().decode((await reader.read()).value);
    expect(results.followers()).toBe(1);
    ac.abort();
    await eventually(async () => expect(results.followers()).toBe(0), 5000);
    await client.cancel(job.job_id);
  }, 30_000);

  it('GET /jobs?follow=1 sends the status changes of the jobs its filter matches', async () => {
    const ac = new AbortController();
    const seen: Job[] = [];
    const watching = (async () => {
      for await (const j of client.followJobs({ function: 'talker' }, { signal: ac.signal })) seen.push(j);
    })().catch((e) => {
      if (!ac.signal.aborted) throw e;
    });
    await eventually(async () => expect(results.followers()).toBe(1), 5000);
    const fails = await client.run('fails', {}); // another function: filtered out
    const job = await client.run(talker, { wait: 0 });
    await eventually(
      async () =>
        expect(seen.filter((j) => j.job_id === job.job_id).map((j) => j.status)).toEqual([
          'pending',
          'running',
          'completed',
        ]),
      10_000,
    );
    expect(seen.some((j) => j.job_id === fails.job_id)).toBe(false);
    expect(seen.every((j) => j.logs === undefined)).toBe(true);
    expect(seen.find((j) => j.status === 'completed')?.result).toEqual({ talked: true });
    ac.abort();
    await watching;
    await eventually(async () => expect(results.followers()).toBe(0), 5000);
  }, 30_000);

  it('bounds what a hostile function prints: lines cut, bytes capped, marks as text, nothing after the end', async () => {
    const hostile = await deploy(host.app, 'hostile', HOSTILE_PY, { timeout: '60' });
    const job = await client.submit(hostile, {});
    const { events } = await collect(client.followLogs(job.job_id));
    expect(events.at(-1)).toMatchObject({ type: 'end', status: 'completed' });
    const lines = events.flatMap((e) => (e.type === 'log' ? [e.line] : []));
    expect(lines[0]).toBe(`${'x'.repeat(8192)}…`);
    expect(lines).toContain('\u001eNANOGRID_LOG "forged"');
    expect(lines).toContain('event: end');
    expect(lines.at(-1)).toBe(LIVE_LOGS_CUT);
    expect(lines.join('\n').length).toBeLessThan(1.1 * 1024 * 1024);
    expect(lines.some((l) => l.startsWith('after the return'))).toBe(false);
    // The host still serves, and the job's record is whole.
    expect((await client.status(job.job_id)).result).toEqual({ survived: true });
    expect((await client.run(talker, { wait: 0 })).status).toBe('completed');
  }, 60_000);
});

describe('a client that does not read its event stream', () => {
  it('is dropped once its queued events pass the bound: its subscription is released, the host serves on', async () => {
    const results = memoryResults();
    const host = await startTestHost({ sandbox: 'process', results }, { sseMaxQueuedBytes: 4096 });
    try {
      const quick = await deploy(host.app, 'quick', 'def handler(event, context):\n    return {"pad": "x" * 200}\n');
      const res = await host.app.request('/jobs?follow=1'); // never read
      expect(res.status).toBe(200);
      await eventually(async () => expect(results.followers()).toBe(1), 5000);
      for (let i = 0; i < 20 && results.followers() > 0; i++) {
        const ran = await run(host.app, { function_id: quick, payload: {} });
        expect(((await ran.json()) as Job).status).toBe('completed');
      }
      await eventually(async () => expect(results.followers()).toBe(0), 5000);
      // Its body ends (what was queued for it is dropped, not kept for a client that does not read).
      expect(await res.text()).toMatch(/^: connected\n\n/);
      expect(((await (await run(host.app, { function_id: quick, payload: {} })).json()) as Job).status).toBe(
        'completed',
      );
    } finally {
      await host.close();
    }
  }, 60_000);

  it('200 streams that never read share one bound: they are dropped, a client that reads keeps its stream', async () => {
    const results = memoryResults();
    const host = await startTestHost(
      { sandbox: 'process', results },
      { sseMaxQueuedBytes: 1024 * 1024, sseMaxQueuedBytesTotal: 16 * 1024 },
    );
    try {
      const quick = await deploy(host.app, 'quick', 'def handler(event, context):\n    return {"pad": "x" * 200}\n');
      const hoarders = await Promise.all(Array.from({ length: 200 }, () => host.app.request('/jobs?follow=1')));
      expect(hoarders.every((r) => r.status === 200)).toBe(true);
      await eventually(async () => expect(results.followers()).toBe(200), 5000);
      // Each alone stays far under its own 1 MiB: only the shared bound can drop them.
      for (let i = 0; i < 40 && results.followers() > 0; i++) {
        const ran = await run(host.app, { function_id: quick, payload: {} });
        expect(((await ran.json()) as Job).status).toBe('completed');
      }
      await eventually(async () => expect(results.followers()).toBe(0), 5000);
      for (const r of hoarders) expect(await r.text()).toMatch(/^: connected\n\n/);
      // The budget was given back: a client that reads gets every event.
      const reader = await host.app.request('/jobs?follow=1');
      const body = reader.body!.getReader();
      await eventually(async () => expect(results.followers()).toBe(1), 5000);
      const ran = (await (await run(host.app, { function_id: quick, payload: {} })).json()) as Job;
      let text = '';
      while (!text.includes(`"status":"completed"`)) text += new TextDecoder().decode((await body.read()).value);
      expect(text).toContain(ran.job_id);
      await body.cancel();
    } finally {
      await host.close();
    }
  }, 60_000);
});

describe('host shutdown', () => {
  it('ends open event streams and releases their subscriptions', async () => {
    const results = memoryResults();
    const shutdown = new AbortController();
    const host = await startTestHost({ sandbox: 'process', results }, { shutdownSignal: shutdown.signal });
    try {
      const sleepy = await deploy(host.app, 'sleepy', TALKER_PY, { timeout: '60' });
      const sub = await run(host.app, { function_id: sleepy, payload: { wait: 10 } }, { 'x-async': 'true' });
      const { job_id } = (await sub.json()) as Job;
      const logs = await host.app.request(`/jobs/${job_id}/logs?follow=1`);
      const jobs = await host.app.request('/jobs?follow=1');
      await eventually(async () => expect(results.followers()).toBe(2), 5000);
      shutdown.abort();
      // Both bodies end (no `end` event: the job did not end), and nothing stays subscribed.
      expect(await logs.text()).not.toContain('event: end');
      expect(await jobs.text()).toMatch(/^: connected/);
      await eventually(async () => expect(results.followers()).toBe(0), 5000);
      await host.app.request(`/jobs/${job_id}/cancel`, { method: 'POST' });
    } finally {
      await host.close();
    }
  }, 60_000);
});

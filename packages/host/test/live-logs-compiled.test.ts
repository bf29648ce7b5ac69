import { readEventStream } from '@nanogrid/client';
import { dockerTestEnv } from '@nanogrid/sandbox-docker/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEngineHost } from './engine-host.js';
import { type TestHost, run, upload } from './helpers.js';

const inCi = process.env.CI === 'true';

/** Writes a line to stderr, waits, writes another; its stdout is its result. */
const TALKER_CPP = `#include <cstdio>
#include <unistd.h>
int main() {
  fprintf(stderr, "first from c++\\n");
  fflush(stderr);
  usleep(1500000);
  fprintf(stderr, "second from c++\\n");
  printf("{\\"ok\\": true}\\n");
  return 0;
}
`;
const TALKER_GO = `package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	fmt.Fprintln(os.Stderr, "first from go")
	time.Sleep(1500 * time.Millisecond)
	fmt.Fprintln(os.Stderr, "second from go")
	fmt.Println("{\\"ok\\": true}")
}
`;

/** Follows a job's SSE stream through the app: each event with when it came. */
async function follow(host: TestHost, jobId: string) {
  const res = await host.app.request(`/jobs/${jobId}/logs?follow=1`);
  const events: { event: string; data: Record<string, unknown>; at: number }[] = [];
  for await (const e of readEventStream(res.body!))
    events.push({ event: e.event, data: JSON.parse(e.data) as Record<string, unknown>, at: performance.now() });
  return events;
}

async function hasGo(): Promise<boolean> {
  const { execFile } = await import('node:child_process');
  return new Promise((r) => execFile('go', ['version'], (err) => r(!err)));
}

/** A compiled program's stderr is its log: it streams while the program runs, cold and warm, in both sandboxes. */
for (const sandbox of ['process', 'docker'] as const) {
  describe(`live logs of C++ and Go (${sandbox} sandbox)`, { timeout: 180_000 }, async () => {
    const env =
      sandbox === 'docker' ? await dockerTestEnv(['nanogrid/cpp:12', 'nanogrid/go:1.19']) : { ready: true, reason: '' };
    const goReady = sandbox === 'docker' || inCi || (await hasGo());
    let host: TestHost;
    beforeAll(async () => {
      if (env.ready) host = await makeEngineHost({ sandbox });
    });
    afterAll(async () => {
      await host?.close();
    });

    const cases = [
      { name: 'cpp', file: 'talker.cpp', code: TALKER_CPP, runtime: 'cpp', ready: true },
      { name: 'go', file: 'talker.go', code: TALKER_GO, runtime: 'go1.x', ready: goReady },
    ];
    for (const c of cases) {
      it.skipIf(!env.ready || !c.ready)(
        `${c.name}: stderr lines arrive while it runs, then the end (a new instance, then a warm one)`,
        async () => {
          const up = await upload(host.app, {
            file: { name: c.file, content: c.code },
            function_name: `live-${c.name}`,
            runtime: c.runtime,
          });
          expect(up.status).toBe(201);
          const id = ((await up.json()) as { function_id: string }).function_id;
          for (const start of ['cold', 'warm']) {
            const sub = await run(host.app, { function_id: id, payload: {} }, { 'x-async': 'true' });
            const { job_id } = (await sub.json()) as { job_id: string };
            const events = await follow(host, job_id);
            const logs = events.filter((e) => e.event === 'log');
            expect(logs.map((e) => `${e.data['stream']}:${e.data['line']}`)).toEqual([
              `stderr:first from ${c.name === 'cpp' ? 'c++' : 'go'}`,
              `stderr:second from ${c.name === 'cpp' ? 'c++' : 'go'}`,
            ]);
            expect(events.at(-1)?.event).toBe('end');
            expect(events.at(-1)?.data).toMatchObject({ job_id, status: 'completed' });
            expect(
              (logs[1]?.at ?? 0) - (logs[0]?.at ?? 0),
              'the first line came before the second was written',
            ).toBeGreaterThan(700);
            const job = (await (await host.app.request(`/jobs/${job_id}`)).json()) as {
              result: unknown;
              start: string;
            };
            expect(job).toMatchObject({ result: { ok: true }, start });
          }
        },
      );
    }
  });
}

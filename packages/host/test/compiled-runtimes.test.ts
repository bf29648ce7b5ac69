import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dockerTestEnv } from '@nanogrid/sandbox-docker/testing';
import { makeEngineHost } from './engine-host.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHost, run, upload } from './helpers.js';

const examples = resolve(dirname(fileURLToPath(import.meta.url)), '../../../examples/functions');
const inCi = process.env.CI === 'true';

type Json = Record<string, unknown> & { error: { code: string; message: string } };

async function json(res: Response | Promise<Response>): Promise<{ status: number; body: Json }> {
  const r = await res;
  return { status: r.status, body: (await r.json()) as Json };
}

const BROKEN_CPP = '#include <iostream>\nint main() { std::cout << undeclared_name << std::endl; return 0 }\n';
const BROKEN_GO = 'package main\n\nfunc main() {\n\tfmt.Println("missing paren"\n}\n';
/** Lists /tmp and /output, then leaves a file in each: the next call must not see them. */
const LEFTOVERS_CPP = `#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <string>
static int count(const char* dir) { int n = 0; DIR* d = opendir(dir); if (!d) return -1; while (dirent* e = readdir(d)) if (e->d_name[0] != '.') n++; closedir(d); return n; }
int main() {
  std::string tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", out = getenv("OUTPUT_DIR") ? getenv("OUTPUT_DIR") : "/output";
  int seen = count(tmp.c_str()) + count(out.c_str());
  FILE* f = fopen((tmp + "/left.txt").c_str(), "w"); if (f) { fputs("x", f); fclose(f); }
  FILE* g = fopen((out + "/made.txt").c_str(), "w"); if (g) { fputs("y", g); fclose(g); }
  printf("{\\"seen\\": %d, \\"job\\": \\"%s\\"}\\n", seen, getenv("JOB_ID"));
  return 0;
}
`;
const HOG_CPP = `#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <string>
#include <unistd.h>
int main() {
  char buf[256] = {0};
  fread(buf, 1, sizeof buf - 1, stdin);
  if (strstr(buf, "hog")) { char* p = (char*)malloc(300u << 20); memset(p, 1, 300u << 20); usleep(300000); printf("%d\\n", p[12345]); }
  printf("{\\"ok\\": true}\\n");
  return 0;
}
`;
/** Counts the bytes of its event on stdin. */
const SIZE_CPP = `#include <cstdio>
int main() {
  char buf[65536];
  size_t n, total = 0;
  while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) total += n;
  printf("{\\"bytes\\": %zu}\\n", total);
  return 0;
}
`;
/** An event just under the 6 MiB payload limit: 50 times what one environment string may hold. */
const bigPayload = () => ({ name: 'big', pad: 'x'.repeat(6 * 1024 * 1024 - 1024) });
const EXIT_CPP = '#include <iostream>\nint main() { std::cerr << "cannot go on" << std::endl; return 5; }\n';

/** The C++ and Go runtimes through the HTTP API: compiled at deploy, run per job, in both sandboxes. */
for (const sandbox of ['process', 'docker'] as const) {
  // Compiling Go and C++ takes seconds each; on a loaded 2-core machine much more than the default 30 s budget.
  describe(`C++ and Go (${sandbox} sandbox)`, { timeout: 120_000 }, async () => {
    const env =
      sandbox === 'docker' ? await dockerTestEnv(['nanogrid/cpp:12', 'nanogrid/go:1.19']) : { ready: true, reason: '' };
    // The process sandbox builds Go with the host's `go` (.ci/run installs it; CI never skips).
    const goReady = sandbox === 'docker' || inCi || (await hasGo());
    let host: TestHost;
    beforeAll(async () => {
      if (env.ready) host = await makeEngineHost({ sandbox });
    });
    afterAll(async () => {
      await host?.close();
    });

    it.skipIf(!env.ready)('calculator.cpp deploys (compiled once) and computes from the event on stdin', async () => {
      const source = await readFile(join(examples, 'calculator.cpp'));
      const up = await json(
        upload(host.app, { file: { name: 'calculator.cpp', content: source }, function_name: 'calc', runtime: 'cpp' }),
      );
      expect(up.status).toBe(201);
      const id = String(up.body['function_id']);
      const ran = await json(run(host.app, { function_id: id, payload: { a: 6, b: 7, op: '*' } }));
      expect(ran).toMatchObject({ status: 200, body: { status: 'completed', result: { result: 42, op: '*' } } });
      const again = await json(run(host.app, { function_id: id, payload: { a: 1, b: 0, op: '/' } }));
      expect(again.body).toMatchObject({ status: 'failed', error: { code: 'NON_ZERO_EXIT' } });
      expect(again.body.error.message).toContain('division by zero');
    });

    it.skipIf(!env.ready || !goReady)(
      'hello.go deploys and runs (no module download, standard library only)',
      async () => {
        const source = await readFile(join(examples, 'hello.go'));
        const up = await json(
          upload(host.app, {
            file: { name: 'hello.go', content: source },
            function_name: 'hello-go',
            runtime: 'go1.x',
          }),
        );
        expect(up.status).toBe(201);
        const ran = await json(
          run(host.app, { function_id: String(up.body['function_id']), payload: { name: 'Gopher' } }),
        );
        expect(ran).toMatchObject({
          status: 200,
          body: { status: 'completed', result: { message: 'Hello, Gopher!' } },
        });
        const again = await json(
          run(host.app, { function_id: String(up.body['function_id']), payload: { name: 'again' } }),
        );
        expect(again.body).toMatchObject({ status: 'completed', start: 'warm', result: { message: 'Hello, again!' } });
      },
    );

    it.skipIf(!env.ready)('a 6 MiB event reaches a C++ program on stdin, cold and warm', async () => {
      const cold = await makeEngineHost({ sandbox, warm: { enabled: false } });
      try {
        for (const [h, starts] of [
          [cold, ['cold', 'cold']],
          [host, ['cold', 'warm']],
        ] as const) {
          const up = await json(
            upload(h.app, { file: { name: 'size.cpp', content: SIZE_CPP }, function_name: 'size', runtime: 'cpp' }),
          );
          expect(up.status).toBe(201);
          const payload = bigPayload();
          for (const start of starts) {
            const ran = await json(run(h.app, { function_id: String(up.body['function_id']), payload }));
            expect(ran.body).toMatchObject({
              status: 'completed',
              start,
              result: { bytes: JSON.stringify(payload).length },
            });
          }
        }
      } finally {
        await cold.close();
      }
    });

    it.skipIf(!env.ready || !goReady)(
      'a 6 MiB event reaches a Go program on stdin, through its exec server',
      async () => {
        const source = await readFile(join(examples, 'hello.go'));
        const up = await json(
          upload(host.app, { file: { name: 'hello.go', content: source }, function_name: 'big-go', runtime: 'go' }),
        );
        expect(up.status).toBe(201);
        for (const start of ['cold', 'warm']) {
          const ran = await json(run(host.app, { function_id: String(up.body['function_id']), payload: bigPayload() }));
          expect(ran.body).toMatchObject({ status: 'completed', start, result: { message: 'Hello, big!' } });
        }
      },
    );

    it.skipIf(!env.ready)(
      'C++ that does not compile is refused at deploy: 422 BUILD_FAILED with the compiler output',
      async () => {
        const res = await json(
          upload(host.app, {
            file: { name: 'broken.cpp', content: BROKEN_CPP },
            function_name: 'broken',
            runtime: 'cpp',
          }),
        );
        expect(res.status).toBe(422);
        expect(res.body.error.code).toBe('BUILD_FAILED');
        expect(res.body.error.message).toContain('undeclared_name');
        const listed = (await json(host.app.request('/functions'))).body['functions'] as { function_name: string }[];
        expect(listed.map((f) => f.function_name)).not.toContain('broken');
      },
    );

    it.skipIf(!env.ready || !goReady)('Go with a syntax error is refused at deploy: 422 BUILD_FAILED', async () => {
      const res = await json(
        upload(host.app, {
          file: { name: 'broken.go', content: BROKEN_GO },
          function_name: 'broken-go',
          runtime: 'go',
        }),
      );
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('BUILD_FAILED');
      expect(res.body.error.message).toMatch(/syntax error|unexpected/);
    });

    it.skipIf(!env.ready)(
      'a program that exits non-zero fails its job with its stderr; the next job runs',
      async () => {
        const up = await json(
          upload(host.app, { file: { name: 'exit.cpp', content: EXIT_CPP }, function_name: 'exit5', runtime: 'c++' }),
        );
        const failed = await json(run(host.app, { function_id: String(up.body['function_id']), payload: {} }));
        expect(failed.body).toMatchObject({ status: 'failed', error: { code: 'NON_ZERO_EXIT' } });
        expect(failed.body.error.message).toContain('cannot go on');
        const calc = await json(
          upload(host.app, {
            file: { name: 'calculator.cpp', content: await readFile(join(examples, 'calculator.cpp')) },
            function_name: 'calc2',
            runtime: 'cpp',
          }),
        );
        const ok = await json(
          run(host.app, { function_id: String(calc.body['function_id']), payload: { a: 2, b: 3 } }),
        );
        expect(ok.body).toMatchObject({ status: 'completed', result: { result: 5 } });
      },
    );

    it.skipIf(!env.ready)(
      'a compiled program past memory_mb fails with OUT_OF_MEMORY; the next call runs',
      async () => {
        const up = await json(
          upload(host.app, {
            file: { name: 'hog.cpp', content: HOG_CPP },
            function_name: 'hog',
            runtime: 'cpp',
            memory_mb: '64',
          }),
        );
        const id = String(up.body['function_id']);
        expect((await json(run(host.app, { function_id: id, payload: {} }))).body).toMatchObject({
          status: 'completed',
          result: { ok: true },
        });
        const hog = await json(run(host.app, { function_id: id, payload: { hog: true } }));
        expect(hog.body, JSON.stringify(hog.body)).toMatchObject({
          status: 'failed',
          error: { code: 'OUT_OF_MEMORY' },
        });
        expect((await json(run(host.app, { function_id: id, payload: {} }))).body).toMatchObject({
          status: 'completed',
          result: { ok: true },
        });
      },
    );

    it.skipIf(!env.ready)(
      'a compiled program is served warm: the instance stays, the program starts per call and sees nothing of the last one',
      async () => {
        const up = await json(
          upload(host.app, {
            file: { name: 'left.cpp', content: LEFTOVERS_CPP },
            function_name: 'leftovers',
            runtime: 'cpp',
          }),
        );
        const id = String(up.body['function_id']);
        const first = await json(run(host.app, { function_id: id, payload: {} }));
        const second = await json(run(host.app, { function_id: id, payload: {} }));
        expect(first.body).toMatchObject({
          status: 'completed',
          start: 'cold',
          result: { seen: 0, job: first.body['job_id'] },
        });
        expect(second.body).toMatchObject({
          status: 'completed',
          start: 'warm',
          result: { seen: 0, job: second.body['job_id'] },
        });
        expect(second.body['output_files']).toHaveLength(1);
      },
    );
  });
}

async function hasGo(): Promise<boolean> {
  const { execFile } = await import('node:child_process');
  return new Promise((r) => execFile('go', ['version'], (err) => r(!err)));
}

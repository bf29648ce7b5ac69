import { dockerTestEnv } from '@nanogrid/sandbox-docker/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JobJson, PYTHON_IMAGES, makeEngineHost } from './engine-host.js';
import { type TestHost, deploy, run } from './helpers.js';

const docker = await dockerTestEnv(PYTHON_IMAGES);
const KiB = 1024;
const CAP = 256 * KiB;

/** Writes the files it is given (nested paths too), `blobs` files of `blob` bytes, and optionally a symlink. */
const WRITER_PY = `import os

def handler(event, context):
    out = os.environ["OUTPUT_DIR"]
    for rel, text in event.get("files", {}).items():
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    for i in range(event.get("blobs", 0)):
        with open(os.path.join(out, "blob-%d.bin" % i), "wb") as f:
            f.write(b"\\0" * event["blob"])
    if event.get("link"):
        os.symlink(event["link"], os.path.join(out, "link"))
    os.makedirs(os.path.join(out, "empty", "dir"), exist_ok=True)
    return {"ok": True}
`;

const FILES = {
  'report.csv': 'name,score\nada,3\n',
  'charts/2024/q1.txt': 'first quarter\n',
  'charts/2024/deep/more/data.json': '{"n": 1}\n',
};

describe.each([
  { sandbox: 'process' as const, ready: true },
  { sandbox: 'docker' as const, ready: docker.ready },
])('output binding in the $sandbox sandbox', ({ sandbox, ready }) => {
  let host: TestHost;
  let writer: string;
  beforeAll(async () => {
    if (!ready) return;
    host = await makeEngineHost({ sandbox, limits: { maxOutputBytes: CAP } });
    writer = await deploy(host.app, 'writer', WRITER_PY);
  });
  afterAll(async () => {
    await host?.close();
  });

  const runJob = async (payload: unknown): Promise<JobJson> =>
    (await (await run(host.app, { function_id: writer, payload })).json()) as JobJson;

  it.skipIf(!ready)(
    'stores every file under outputs/{job_id}/{path}, nested folders kept; the links download them',
    async () => {
      const job = await runJob({ files: FILES, link: '/etc/passwd' });
      expect(job.status).toBe('completed');
      const paths = job.output_files.map((u) => new URL(u).pathname);
      // Path order; the symlink and the empty folders are not outputs.
      expect(paths).toEqual(
        ['charts/2024/deep/more/data.json', 'charts/2024/q1.txt', 'report.csv'].map(
          (p) => `/files/outputs/${job.job_id}/${p}`,
        ),
      );
      for (const [i, url] of job.output_files.entries()) {
        const { pathname, search } = new URL(url);
        const res = await host.app.request(`${pathname}${search}`);
        expect(res.status).toBe(200);
        const rel = pathname.slice(`/files/outputs/${job.job_id}/`.length) as keyof typeof FILES;
        expect({ i, text: await res.text() }).toEqual({ i, text: FILES[rel] });
      }
      expect(await host.nanogrid.storage.head(`outputs/${job.job_id}/report.csv`)).toMatchObject({
        size: FILES['report.csv'].length,
        contentType: expect.stringContaining('text/csv'),
      });
    },
  );

  it.skipIf(!ready)(
    'over limits.maxOutputBytes in all the job fails OUTPUT_TOO_LARGE, naming the limit, and stores nothing',
    async () => {
      // Three files of 100 KiB: each under the cap, together over it.
      const job = await runJob({ files: FILES, blobs: 3, blob: 100 * KiB });
      expect(job).toMatchObject({ status: 'failed', error: { code: 'OUTPUT_TOO_LARGE' }, output_files: [] });
      expect(job.error?.message).toContain(String(CAP));
      expect(job.error?.message).toContain('/output');
      // Docker stops copying out at the engine's cap (passed through by compose), not at its own 256 MiB.
      if (sandbox === 'docker') expect(job.error?.message).toContain(`more than ${CAP} bytes`);
      expect(await host.nanogrid.storage.list(`outputs/${job.job_id}/`)).toEqual([]);
      // Just under the cap is fine.
      const fits = await runJob({ blobs: 2, blob: 100 * KiB });
      expect(fits.status).toBe('completed');
      expect(fits.output_files).toHaveLength(2);
    },
  );
});

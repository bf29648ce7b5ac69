import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_OUTPUT_FILES, collectOutputs, fsStorage, isNanoGridError, publicMessage } from '../src/index.js';
import { eventually } from '../src/testing/index.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ng-collect-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function fixture(name: string): Promise<{ out: string; storageDir: string }> {
  const out = join(root, name, 'out');
  await mkdir(out, { recursive: true });
  return { out, storageDir: join(root, name, 'storage') };
}

describe('collectOutputs', () => {
  it('stores regular files only: links to host files, FIFOs and linked folders are never read', async () => {
    const { out, storageDir } = await fixture('links');
    const secret = join(root, 'secret.txt');
    await writeFile(secret, 'HOST-SECRET');
    await writeFile(join(out, 'ok.txt'), 'fine');
    await symlink(secret, join(out, 'link.txt'));
    await symlink(root, join(out, 'linkdir'));
    execFileSync('mkfifo', [join(out, 'fifo')]); // opening it for reading would block the worker
    const storage = fsStorage({ dir: storageDir, publicUrl: 'http://files.test' });
    const stored = await collectOutputs(storage, 'job-links', out, { maxBytes: 1 << 20, urlTtlSec: 60 });
    expect(stored.map((s) => s.key)).toEqual(['outputs/job-links/ok.txt']);
  });

  it(`fails OUTPUT_TOO_LARGE past ${MAX_OUTPUT_FILES} files and stores nothing`, async () => {
    const { out, storageDir } = await fixture('many');
    await Promise.all(Array.from({ length: MAX_OUTPUT_FILES + 1 }, (_, i) => writeFile(join(out, `f${i}`), '')));
    const storage = fsStorage({ dir: storageDir, publicUrl: 'http://files.test' });
    const err = await collectOutputs(storage, 'job-many', out, { maxBytes: 1 << 20, urlTtlSec: 60 }).catch(
      (e: unknown) => e,
    );
    expect(isNanoGridError(err, 'OUTPUT_TOO_LARGE')).toBe(true);
    expect(await storage.list('outputs/job-many/')).toEqual([]);
  });

  it('deletes what it stored when storing fails halfway: a failed job leaves no outputs', async () => {
    const { out, storageDir } = await fixture('half');
    for (const n of ['a', 'b', 'c']) await writeFile(join(out, `${n}.txt`), n);
    const storage = fsStorage({ dir: storageDir, publicUrl: 'http://files.test' });
    let puts = 0;
    const flaky = {
      ...storage,
      put: async (...args: Parameters<typeof storage.put>) => {
        if (++puts === 3) throw new Error('storage went away');
        return storage.put(...args);
      },
      url: storage.url.bind(storage),
      delete: storage.delete.bind(storage),
    };
    const err = await collectOutputs(flaky, 'job-half', out, { maxBytes: 1 << 20, urlTtlSec: 60 }).catch(
      (e: unknown) => e,
    );
    expect(String(err)).toContain('storage went away');
    expect(await storage.list('outputs/job-half/')).toEqual([]);
  });
});

describe('publicMessage', () => {
  it('replaces host paths under the given roots, keeps the rest of the message', () => {
    const err = new Error(
      "ENOENT: no such file or directory, open '/var/lib/ng/work/code/abc/main.py' (under /tmp/nanogrid-run-x1)",
    );
    expect(publicMessage(err, ['/var/lib/ng/work', '/tmp'])).toBe(
      "ENOENT: no such file or directory, open '…' (under …)",
    );
    expect(publicMessage(new Error('the function left 3 files'), ['/var/lib/ng/work'])).toBe(
      'the function left 3 files',
    );
  });
});

describe('what a failed job leaves', () => {
  it('a job that fails after writing outputs stores none and leaves no job directory on the worker', async () => {
    const { engineEnv, src } = await import('./helpers/engine-env.js');
    const env = await engineEnv();
    try {
      const meta = await env.ng.registry.deploy({
        functionName: 'half-done',
        runtime: 'sh',
        fileName: 'h.sh',
        data: src('echo partial > "$OUTPUT_DIR/part.txt"\nexit 1\n'),
      });
      const { record } = await env.ng.jobs.submit(meta.function_id, {});
      const final = await env.ng.jobs.wait(record.job_id, { timeoutMs: 20_000 });
      expect(final).toMatchObject({ status: 'failed', output_files: [] });
      expect(await env.ng.storage.list(`outputs/${record.job_id}/`)).toEqual([]);
      // removed right after the record is published
      await eventually(
        async () => expect(await readdir(join(env.dir, 'data', 'work', 'jobs')).catch(() => [])).toEqual([]),
        5000,
      );
    } finally {
      await env.close();
    }
  });
});

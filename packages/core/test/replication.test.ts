import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterEach, describe, expect, it } from 'vitest';
import { type StorageBackend, NanoGridError, codeKey, fsStorage, metaKey } from '../src/index.js';
import { eventually } from '../src/testing/index.js';
import { type EngineEnv, engineEnv, src } from './helpers/engine-env.js';

/** A replica that refuses every write while `down` is set, as an unreachable bucket would. */
function switchable(inner: StorageBackend): StorageBackend & { down: boolean } {
  const r = {
    down: false,
    name: 'switchable',
    put: (key: string, body: Parameters<StorageBackend['put']>[1], opts?: Parameters<StorageBackend['put']>[2]) =>
      r.down
        ? Promise.reject(new NanoGridError('BACKEND_UNAVAILABLE', 'replica unreachable'))
        : inner.put(key, body, opts),
    get: (key: string) => inner.get(key),
    head: (key: string) => inner.head(key),
    list: (prefix: string) => inner.list(prefix),
    delete: (key: string) => inner.delete(key),
    url: (key: string) => inner.url(key),
  };
  return r;
}

const text = async (s: StorageBackend, key: string): Promise<string> =>
  (await buffer(await s.get(key))).toString('utf8');
const WRITES_FILE = 'mkdir -p "$OUTPUT_DIR/d"\necho hi > "$OUTPUT_DIR/d/out.txt"\necho \'{"ok":1}\'\n';

describe('replication to replicas', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  async function setup(replica: StorageBackend, primaryDir?: string): Promise<EngineEnv> {
    const dir = primaryDir ?? (await mkdtemp(join(tmpdir(), 'nanogrid-primary-')));
    const env = await engineEnv({ storage: fsStorage({ dir }), replicas: [replica] });
    env.ng.replicator.retryMs = 50;
    cleanup.push(() => env.close());
    return env;
  }

  async function replicaDir(): Promise<{ dir: string; storage: StorageBackend }> {
    const dir = await mkdtemp(join(tmpdir(), 'nanogrid-replica-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    return { dir, storage: fsStorage({ dir }) };
  }

  it('copies code, metadata, outputs and the result record of a successful job; nothing stays pending', async () => {
    const { storage: replica } = await replicaDir();
    const env = await setup(replica);
    const meta = await env.ng.registry.deploy({
      functionName: 'w',
      runtime: 'sh',
      fileName: 'w.sh',
      data: src(WRITES_FILE),
    });
    const { record } = await env.ng.jobs.submit(meta.function_id, {});
    const final = await env.ng.jobs.wait(record.job_id, { timeoutMs: 20_000 });
    expect(final.status).toBe('completed');
    // The result's copy is recorded right after the final state is published: wait for it to land.
    await eventually(async () => expect(await replica.head(`results/${final.job_id}.json`)).toBeDefined(), 10_000);
    await eventually(async () => expect(await env.ng.replicator.pending()).toEqual([]), 10_000);
    expect(await replica.head(codeKey(meta.function_id, meta.version))).toMatchObject({ size: meta.code_size });
    expect(JSON.parse(await text(replica, metaKey(meta.function_id, meta.version)))).toEqual(meta);
    expect(await text(replica, `outputs/${final.job_id}/d/out.txt`)).toBe('hi\n');
    expect(JSON.parse(await text(replica, `results/${final.job_id}.json`))).toMatchObject({
      job_id: final.job_id,
      status: 'completed',
      result: { ok: 1 },
    });
  });

  it('a failed job is not replicated', async () => {
    const { storage: replica } = await replicaDir();
    const env = await setup(replica);
    const meta = await env.ng.registry.deploy({
      functionName: 'f',
      runtime: 'sh',
      fileName: 'f.sh',
      data: src('exit 1\n'),
    });
    const { record } = await env.ng.jobs.submit(meta.function_id, {});
    expect((await env.ng.jobs.wait(record.job_id, { timeoutMs: 20_000 })).status).toBe('failed');
    await eventually(async () => expect(await env.ng.replicator.pending()).toEqual([]), 10_000);
    expect(await replica.head(`results/${record.job_id}.json`)).toBeUndefined();
  });

  it('a replica that is down fails nothing; the copies wait in the outbox and land once it is back', async () => {
    const { storage } = await replicaDir();
    const replica = switchable(storage);
    replica.down = true;
    const env = await setup(replica);
    const meta = await env.ng.registry.deploy({
      functionName: 'd',
      runtime: 'sh',
      fileName: 'd.sh',
      data: src(WRITES_FILE),
    });
    const { record } = await env.ng.jobs.submit(meta.function_id, {});
    expect((await env.ng.jobs.wait(record.job_id, { timeoutMs: 20_000 })).status).toBe('completed');
    const pending = await eventually(async () => {
      const p = await env.ng.replicator.pending();
      expect(p).toHaveLength(2);
      expect(p.every((e) => e.attempts >= 1 && e.last_error?.includes('replica unreachable'))).toBe(true);
      return p;
    }, 10_000);
    expect(pending.flatMap((e) => e.keys)).toContain(codeKey(meta.function_id, meta.version));
    expect(await storage.head(codeKey(meta.function_id, meta.version))).toBeUndefined();
    replica.down = false;
    await eventually(async () => expect(await env.ng.replicator.pending()).toEqual([]), 20_000);
    expect(await storage.head(codeKey(meta.function_id, meta.version))).toBeDefined();
    expect(await storage.head(`results/${record.job_id}.json`)).toBeDefined();
  });

  it('copies left pending when a host stops are finished by the next host on the same storage', async () => {
    const primaryDir = await mkdtemp(join(tmpdir(), 'nanogrid-primary-'));
    cleanup.push(() => rm(primaryDir, { recursive: true, force: true }));
    const { storage } = await replicaDir();
    const down = switchable(storage);
    down.down = true;
    const first = await setup(down, primaryDir);
    const meta = await first.ng.registry.deploy({
      functionName: 'r',
      runtime: 'sh',
      fileName: 'r.sh',
      data: src('cat\n'),
    });
    await first.ng.close();
    expect(await fsStorage({ dir: primaryDir }).list('replication/pending/')).toHaveLength(1);
    expect(await storage.head(metaKey(meta.function_id, meta.version))).toBeUndefined();

    const second = await setup(storage, primaryDir); // restarted, the replica reachable again
    await eventually(
      async () => expect(await storage.head(metaKey(meta.function_id, meta.version))).toBeDefined(),
      20_000,
    );
    await eventually(async () => expect(await second.ng.replicator.pending()).toEqual([]), 20_000);
    expect(JSON.parse(await text(storage, metaKey(meta.function_id, meta.version)))).toEqual(meta);
  });
});

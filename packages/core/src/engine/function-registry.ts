import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { ENGINE_OPTIONS, LOGGER, RUNTIMES, STORAGE } from '../di/tokens.js';
import { inject, injectable } from '../di/tsyringe.js';
import { NanoGridError, isNanoGridError } from '../errors.js';
import { type FunctionMeta, codeKey, metaKey } from '../function-meta.js';
import type { Logger } from '../logger.js';
import type { RuntimePlugin } from '../plugins/runtime-plugin.js';
import type { StorageBackend } from '../plugins/storage-backend.js';
import { CodeCache } from './code-cache.js';
import type { EngineOptions } from './engine-options.js';
import { packageCode } from './entry-file.js';
import { Replicator } from './replicator.js';
import { type DeployRequest, findRuntime, validateDeploy } from './validate-deploy.js';

const FUNCTION_ID_RE = /^[\w-]{1,128}$/;

function notFound(id: string): NanoGridError {
  return new NanoGridError(
    'FUNCTION_NOT_FOUND',
    `no function with id "${id}"; GET /functions lists the deployed ones`,
    { details: { function_id: id } },
  );
}

/**
 * Deployed functions: `functions/{id}/code.zip` and `functions/{id}/meta.json`
 * in the StorageBackend, so every controller and worker sees the same set.
 * A deploy is checked whole (fields, archive, entry file, build) before anything is stored.
 */
@injectable()
export class FunctionRegistry {
  constructor(
    @inject(STORAGE) private readonly storage: StorageBackend,
    @inject(RUNTIMES) private readonly runtimes: RuntimePlugin[],
    @inject(ENGINE_OPTIONS) private readonly options: EngineOptions,
    @inject(LOGGER) private readonly logger: Logger,
    @inject(CodeCache) private readonly code: CodeCache,
    @inject(Replicator) private readonly replicator: Replicator,
  ) {}

  async deploy(req: DeployRequest): Promise<FunctionMeta> {
    const v = validateDeploy(req, this.runtimes, this.options);
    const functionId = randomUUID();
    const scratch = join(this.options.workDir, 'uploads', functionId);
    await mkdir(scratch, { recursive: true });
    try {
      const pkg = await packageCode(req.fileName, req.data, v.handler, v.plugin, scratch, {
        maxEntries: this.options.maxArchiveEntries,
        maxBytes: this.options.maxArchiveBytes,
      });
      const meta: FunctionMeta = {
        function_id: functionId,
        function_name: v.functionName,
        runtime: v.runtime,
        runtime_plugin: v.plugin.name,
        handler: v.handler,
        entry_file: pkg.entryFile,
        timeout: v.timeoutSec,
        memory_mb: v.memoryMb,
        network: v.network,
        env: v.env,
        ...(v.maxConcurrency !== undefined ? { max_concurrency: v.maxConcurrency } : {}),
        s3_key: codeKey(functionId),
        code_sha256: createHash('sha256').update(pkg.zip).digest('hex'),
        code_size: pkg.zip.length,
        created_at: new Date().toISOString(),
      };
      // Compiled runtimes build now, so code that does not compile is refused at deploy.
      if (v.plugin.build) await this.code.prepare(meta, v.plugin, pkg.zip);
      await this.storage.put(meta.s3_key, pkg.zip, { contentType: 'application/zip' });
      // meta.json last: a function exists only once its code is stored.
      await this.storage.put(metaKey(functionId), JSON.stringify(meta, null, 2), { contentType: 'application/json' });
      await this.replicator.enqueue([meta.s3_key, metaKey(functionId)]);
      // A worker in this process gets the code ready now rather than on the first call.
      if (!v.plugin.build) void this.code.prepare(meta, v.plugin, pkg.zip).catch(() => undefined);
      return meta;
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /**
   * Metadata is immutable per id, so reads are cached briefly: a delete made by
   * this process is seen at once, one made by another process within `metaCacheMs`.
   */
  metaCacheMs = 2000;
  private readonly metaCache = new Map<string, { meta: FunctionMeta; until: number }>();

  async get(functionId: string): Promise<FunctionMeta> {
    const hit = this.metaCache.get(functionId);
    if (hit && hit.until > Date.now()) return hit.meta;
    const meta = await this.read(functionId);
    if (this.metaCache.size > 10_000) this.metaCache.clear();
    this.metaCache.set(functionId, { meta, until: Date.now() + this.metaCacheMs });
    return meta;
  }

  private async read(functionId: string): Promise<FunctionMeta> {
    if (!FUNCTION_ID_RE.test(functionId)) throw notFound(functionId);
    let raw: Buffer;
    try {
      raw = await buffer(await this.storage.get(metaKey(functionId)));
    } catch (err) {
      if (isNanoGridError(err, 'NOT_FOUND')) throw notFound(functionId);
      throw err;
    }
    try {
      return JSON.parse(raw.toString('utf8')) as FunctionMeta;
    } catch (err) {
      throw new NanoGridError('INTERNAL', `metadata of function ${functionId} is not JSON`, { cause: err });
    }
  }

  /** Every deployed function, oldest first. */
  async list(): Promise<FunctionMeta[]> {
    const objects = await this.storage.list('functions/');
    const ids = objects.filter((o) => o.key.endsWith('/meta.json')).map((o) => o.key.split('/')[1] ?? '');
    const metas = await Promise.all(
      ids.map((id) =>
        this.read(id).catch((err: unknown) =>
          isNanoGridError(err, 'FUNCTION_NOT_FOUND') ? undefined : Promise.reject(err),
        ),
      ),
    );
    return metas
      .filter((m): m is FunctionMeta => m !== undefined)
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  /** Removes a function (metadata first, so it stops being runnable at once). Its outputs stay. */
  async delete(functionId: string): Promise<void> {
    await this.read(functionId);
    this.metaCache.delete(functionId);
    await this.storage.delete(metaKey(functionId));
    await this.storage.delete(codeKey(functionId));
    // The code cache is keyed by content, which another function may share: it is not evicted here.
    this.logger.info('function code removed from storage', { function_id: functionId });
  }

  /** The plugin that runs a deployed function. */
  runtimeOf(meta: FunctionMeta): RuntimePlugin {
    return this.runtimes.find((p) => p.name === meta.runtime_plugin) ?? findRuntime(this.runtimes, meta.runtime);
  }
}

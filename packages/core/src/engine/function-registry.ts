import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { digestOf } from '../archive/digest.js';
import { ENGINE_OPTIONS, LOGGER, RUNTIMES, STORAGE } from '../di/tokens.js';
import { inject, injectable } from '../di/tsyringe.js';
import { NanoGridError } from '../errors.js';
import { type FunctionMeta, codeKey } from '../function-meta.js';
import type { JobMessage } from '../job.js';
import type { Logger } from '../logger.js';
import type { RuntimePlugin } from '../plugins/runtime-plugin.js';
import type { StorageBackend } from '../plugins/storage-backend.js';
import { CodeCache } from './code-cache.js';
import type { EngineOptions } from './engine-options.js';
import { packageCode } from './entry-file.js';
import {
  FUNCTION_NAME_RE,
  UUID_RE,
  type FunctionRef,
  checkAliasName,
  checkVersion,
  formatRef,
  functionIdOf,
  parseFunctionRef,
} from './function-ref.js';
import { type FunctionAlias, FunctionStore } from './function-store.js';
import { Replicator } from './replicator.js';
import { type DeployRequest, findRuntime, validateDeploy } from './validate-deploy.js';

/** How often a function's versions may be listed again for a version the cached list lacks, ms. */
const RELIST_MS = 1000;

function notFound(ref: string): NanoGridError {
  return new NanoGridError('FUNCTION_NOT_FOUND', `no function "${ref}"; GET /functions lists the deployed ones`, {
    details: { function: ref },
  });
}

/** The function exists, the version or alias asked for does not. */
function noSuch(base: string, what: Record<string, unknown>, message: string): NanoGridError {
  return new NanoGridError('FUNCTION_NOT_FOUND', `function "${base}" ${message}`, {
    details: { function: base, ...what },
  });
}

/**
 * Deployed functions and their versions (layout: FunctionStore). A function is
 * found by name or id, optionally with `:version` or `:alias`. A deploy is
 * checked whole (fields, archive, entry file, build) before anything is
 * stored, and its version appears only once complete, so a failed deploy
 * leaves the previous version serving.
 */
@injectable()
export class FunctionRegistry {
  private readonly store: FunctionStore;

  constructor(
    @inject(STORAGE) storage: StorageBackend,
    @inject(RUNTIMES) private readonly runtimes: RuntimePlugin[],
    @inject(ENGINE_OPTIONS) private readonly options: EngineOptions,
    @inject(LOGGER) private readonly logger: Logger,
    @inject(CodeCache) private readonly code: CodeCache,
    @inject(Replicator) private readonly replicator: Replicator,
  ) {
    this.store = new FunctionStore(storage);
  }

  async deploy(req: DeployRequest): Promise<FunctionMeta> {
    const v = validateDeploy(req, this.runtimes, this.options);
    const functionId = functionIdOf(v.functionName);
    const scratch = join(this.options.workDir, 'uploads', randomUUID());
    await mkdir(scratch, { recursive: true });
    try {
      const pkg = await packageCode(req.fileName, req.data, v.handler, v.plugin, scratch, {
        maxEntries: this.options.maxArchiveEntries,
        maxBytes: this.options.maxArchiveBytes,
      });
      const digest = await digestOf(pkg.zip);
      const draft: FunctionMeta = {
        function_id: functionId,
        function_name: v.functionName,
        version: 0,
        runtime: v.runtime,
        runtime_plugin: v.plugin.name,
        handler: v.handler,
        entry_file: pkg.entryFile,
        timeout: v.timeoutSec,
        memory_mb: v.memoryMb,
        disk_mb: v.diskMb,
        network: v.network,
        env: v.env,
        ...(v.maxConcurrency !== undefined ? { max_concurrency: v.maxConcurrency } : {}),
        ...(v.public ? { public: true as const } : {}),
        ...(v.httpEvent === '2.0' ? { http_event: '2.0' as const } : {}),
        ...(v.callbackUrl !== undefined ? { callback_url: v.callbackUrl } : {}),
        ...(v.callbackFormat !== undefined ? { callback_format: v.callbackFormat } : {}),
        s3_key: '',
        code_sha256: digest.sha256,
        code_size: digest.size,
        created_at: '',
      };
      // Compiled runtimes build and manifests install now (keyed by the code's hash), so code that does not build is refused before a version is claimed.
      const deps = v.plugin.dependencies;
      const builds = v.plugin.build !== undefined || (deps !== undefined && pkg.files.includes(deps.manifest));
      if (builds) await this.code.prepare(draft, v.plugin, pkg.zip);
      const version = await this.store.claimVersion(functionId);
      const meta: FunctionMeta = {
        ...draft,
        version,
        s3_key: codeKey(functionId, version),
        created_at: new Date().toISOString(),
      };
      const keys = await this.store.writeVersion(meta, pkg.zip);
      this.remember(`v:${functionId}:${version}`, meta);
      this.forget(`l:${functionId}`);
      // Read again now, after the commit, rather than by the first call (a never-seen function's first run
      // otherwise lists its versions in storage on the call's path); a change meanwhile drops this load.
      void this.versionsOf(functionId).catch(() => undefined);
      await this.replicator.enqueue(keys);
      // A worker in this process gets the code ready now rather than on the first call
      // (from storage when the upload is a temp file its caller removes once we return).
      if (!builds) {
        void this.code.prepare(meta, v.plugin, Buffer.isBuffer(pkg.zip) ? pkg.zip : undefined).catch(() => undefined);
      }
      return meta;
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /**
   * Reads are cached briefly: a change made by this process is seen at once,
   * one made by another process (a deploy, an alias moved, a delete) within `metaCacheMs`.
   */
  metaCacheMs = 2000;
  private readonly cache = new Map<string, { value: unknown; until: number }>();

  /** This process changed what `key` names: later reads load it again. */
  private forget(key: string): void {
    this.cache.delete(key);
    this.loading.delete(key);
  }

  private remember<T>(key: string, value: T): T {
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { value, until: Date.now() + this.metaCacheMs });
    return value;
  }

  /** Loads in flight, by cache key: when an entry expires under load, one read refills it for every caller. */
  private readonly loading = new Map<string, Promise<unknown>>();
  /** When each function's versions were last listed again for a version its cached list lacked (see relist). */
  private readonly relisted = new Map<string, number>();

  private async cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.cache.get(key);
    if (hit && hit.until > Date.now()) return hit.value as T;
    const pending = this.loading.get(key);
    if (pending) return pending as Promise<T>;
    // A change made meanwhile (`forget`) drops the load: its value is returned to its callers, not kept.
    const started: Promise<T> = load().then(
      (value) => {
        if (this.loading.get(key) !== started) return value;
        this.loading.delete(key);
        return this.remember(key, value);
      },
      (err: unknown) => {
        if (this.loading.get(key) === started) this.loading.delete(key);
        throw err;
      },
    );
    this.loading.set(key, started);
    return started;
  }

  /** The versions of the function a reference's base names: tried as an id, then as a name. */
  private async idOf(ref: FunctionRef, raw: string): Promise<{ id: string; versions: number[] }> {
    // The name's id (a hash) only when the reference is not an id that exists: most calls name an id.
    if (UUID_RE.test(ref.base)) {
      const versions = await this.versionsOf(ref.base);
      if (versions.length > 0) return { id: ref.base, versions };
    }
    if (FUNCTION_NAME_RE.test(ref.base)) {
      const id = functionIdOf(ref.base);
      const versions = await this.versionsOf(id);
      if (versions.length > 0) return { id, versions };
    }
    throw notFound(raw);
  }

  private versionsOf(id: string): Promise<number[]> {
    return this.cached(`l:${id}`, async () => (await this.store.scan(id)).committed);
  }

  /**
   * The version list read from storage now, not from the cache: at most once a second per function (later asks
   * share that read), so a client asking for versions that do not exist in a loop does not make each request a
   * storage listing (a paid LIST call on S3 or GCS). A version committed elsewhere is still found at once, unless
   * such a loop relisted this function in the last second (the cache used to hide it for up to 2 s).
   */
  private relist(id: string): Promise<number[]> {
    const now = Date.now();
    const last = this.relisted.get(id);
    if (last !== undefined && now - last < RELIST_MS) return this.versionsOf(id);
    if (this.relisted.size >= 10_000) this.relisted.clear(); // a bound: it only spaces listings out
    this.relisted.set(id, now);
    this.forget(`l:${id}`);
    return this.versionsOf(id);
  }

  private async version(id: string, version: number, raw: string): Promise<FunctionMeta> {
    const meta = await this.cached(`v:${id}:${version}`, () => this.store.readMeta(id, version));
    if (!meta) throw noSuch(raw.split(':')[0] ?? raw, { version }, `has no version ${version}`);
    return meta;
  }

  /** The function version a reference names: `name`, `id`, `name:3`, `name:prod`, `name:latest`. */
  async get(ref: string, field = 'function'): Promise<FunctionMeta> {
    const r = parseFunctionRef(ref, field);
    const { id, versions } = await this.idOf(r, ref);
    const q = r.qualifier;
    if (q.kind === 'latest') return this.version(id, versions[versions.length - 1] ?? 0, ref);
    if (q.kind === 'version') {
      // A version the cached list lacks may be one another controller committed since: list once more first.
      const known = versions.includes(q.version) ? versions : await this.relist(id);
      if (!known.includes(q.version))
        throw noSuch(r.base, { version: q.version }, `has no version ${q.version}; its versions: ${known.join(', ')}`);
      return this.version(id, q.version, ref);
    }
    const alias = await this.cached(`a:${id}:${q.alias}`, () => this.store.readAlias(id, q.alias));
    if (!alias)
      throw noSuch(
        r.base,
        { alias: q.alias },
        `has no alias "${q.alias}"; PUT /functions/${r.base}/aliases/${q.alias} creates it`,
      );
    return this.version(id, alias.version, ref);
  }

  /** The version a queue message asks for: its `function_version` when set, else the latest. */
  forJob(job: Pick<JobMessage, 'function_id' | 'function_version'>): Promise<FunctionMeta> {
    return this.get(
      job.function_version ? `${job.function_id}:${job.function_version}` : job.function_id,
      'function_id',
    );
  }

  /** The latest version of every function, oldest first. */
  async list(): Promise<FunctionMeta[]> {
    const all = await this.store.all();
    const metas = await Promise.all(
      [...all].map(([id, vs]) =>
        this.cached(`v:${id}:${vs[vs.length - 1]}`, () => this.store.readMeta(id, vs[vs.length - 1] ?? 0)),
      ),
    );
    return metas
      .filter((m): m is FunctionMeta => m !== undefined)
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  /** Every version of a function, oldest first, and its aliases. */
  async versions(ref: string): Promise<{ versions: FunctionMeta[]; aliases: FunctionAlias[] }> {
    const r = this.unqualified(ref);
    const { id } = await this.idOf(r, ref);
    const { committed } = await this.store.scan(id);
    const metas = await Promise.all(committed.map((n) => this.store.readMeta(id, n)));
    return {
      versions: metas.filter((m): m is FunctionMeta => m !== undefined),
      aliases: await this.store.listAliases(id),
    };
  }

  /** Points `alias` at an existing version (creating or moving it). */
  async setAlias(
    ref: string,
    alias: string,
    version: unknown,
  ): Promise<FunctionAlias & { function_id: string; function_name: string }> {
    checkAliasName(alias);
    const n = checkVersion(version);
    const target = await this.get(formatRef(this.unqualified(ref).base, { kind: 'version', version: n }));
    const record: FunctionAlias = { alias, version: n, updated_at: new Date().toISOString() };
    const key = await this.store.putAlias(target.function_id, record);
    this.forget(`a:${target.function_id}:${alias}`);
    await this.replicator.enqueue([key]);
    return { function_id: target.function_id, function_name: target.function_name, ...record };
  }

  async deleteAlias(ref: string, alias: string): Promise<void> {
    checkAliasName(alias);
    const { id } = await this.idOf(this.unqualified(ref), ref);
    if (!(await this.store.readAlias(id, alias))) throw noSuch(ref, { alias }, `has no alias "${alias}"`);
    await this.store.deleteAlias(id, alias);
    this.forget(`a:${id}:${alias}`);
  }

  /**
   * `name` (or id) removes the whole function; `name:3` removes version 3,
   * refused with CONFLICT while an alias points at it. Outputs of past jobs stay.
   */
  async delete(ref: string): Promise<FunctionMeta> {
    const r = parseFunctionRef(ref);
    if (r.qualifier.kind === 'alias') {
      throw new NanoGridError(
        'VALIDATION_FAILED',
        `"${ref}" names an alias: DELETE /functions/${r.base}/aliases/${r.qualifier.alias} removes it`,
        { details: { field: 'function' } },
      );
    }
    const meta = await this.get(ref);
    const id = meta.function_id;
    if (r.qualifier.kind === 'version') {
      const pointing = (await this.store.listAliases(id)).filter((a) => a.version === meta.version).map((a) => a.alias);
      if (pointing.length > 0) {
        throw new NanoGridError(
          'CONFLICT',
          `version ${meta.version} of "${meta.function_name}" is the target of alias ${pointing.join(', ')}; move or delete the alias first`,
          {
            details: { version: meta.version, aliases: pointing },
          },
        );
      }
      await this.store.deleteVersion(id, meta.version);
    } else {
      await this.store.deleteFunction(id);
    }
    for (const k of [...this.cache.keys(), ...this.loading.keys()]) if (k.includes(id)) this.forget(k);
    // The code cache is keyed by content, which another function may share: it is not evicted here.
    this.logger.info('function removed from storage', {
      function_id: id,
      function_name: meta.function_name,
      ...(r.qualifier.kind === 'version' ? { version: meta.version } : {}),
    });
    return meta;
  }

  private unqualified(ref: string): FunctionRef {
    const r = parseFunctionRef(ref);
    if (r.qualifier.kind !== 'latest') {
      throw new NanoGridError(
        'VALIDATION_FAILED',
        `"${ref}": give the function's name or id without ":${ref.split(':')[1]}" here`,
        { details: { field: 'function' } },
      );
    }
    return r;
  }

  /** The plugin that runs a deployed function. */
  runtimeOf(meta: FunctionMeta): RuntimePlugin {
    return this.runtimes.find((p) => p.name === meta.runtime_plugin) ?? findRuntime(this.runtimes, meta.runtime);
  }
}

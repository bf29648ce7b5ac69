import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { digestOf } from '../archive/digest.js';
import { extractZip } from '../archive/extract-zip.js';
import type { ZipSource } from '../archive/open-zip.js';
import { NanoGridError } from '../errors.js';
import type { FunctionMeta } from '../function-meta.js';
import { codeKey } from '../function-meta.js';
import type { RuntimeFunctionInfo, RuntimePlugin } from '../plugins/runtime-plugin.js';
import type { Sandbox } from '../plugins/sandbox.js';
import type { StorageBackend } from '../plugins/storage-backend.js';
import { ENGINE_OPTIONS, SANDBOX, STORAGE } from '../di/tokens.js';
import { inject, injectable } from '../di/tsyringe.js';
import { DependencyCache } from './dependency-cache.js';
import type { EngineOptions } from './engine-options.js';

export function functionInfo(meta: FunctionMeta): RuntimeFunctionInfo {
  return { runtime: meta.runtime, handler: meta.handler, entryFile: meta.entry_file };
}

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

const BUILD_LOG_MAX = 16 * 1024;

/**
 * Code ready to run, one directory per code version and runtime
 * (`work/code/{sha256}-{runtime}`): the zip extracted, the packages its
 * manifest names put in (see DependencyCache), the build step run when
 * the runtime has one (once per version: the compile cache), and the runtime's
 * bootstrap written beside it. Concurrent prepares of one version share a promise.
 */
@injectable()
export class CodeCache {
  private readonly pending = new Map<string, Promise<string>>();
  /** Directories known to be ready: the hot path skips the stat. */
  private readonly ready = new Set<string>();
  /** Run directory of each code hash and runtime (two path joins per call saved on the hot path). */
  private readonly runDirs = new Map<string, string>();

  constructor(
    @inject(STORAGE) private readonly storage: StorageBackend,
    @inject(SANDBOX) private readonly sandbox: Sandbox,
    @inject(ENGINE_OPTIONS) private readonly options: EngineOptions,
    @inject(DependencyCache) private readonly deps: DependencyCache,
  ) {}

  private dirOf(meta: FunctionMeta, plugin: RuntimePlugin): string {
    return join(this.options.workDir, 'code', `${meta.code_sha256.slice(0, 40)}-${plugin.name}`);
  }

  /** The directory runs of this function start in. */
  prepare(meta: FunctionMeta, plugin: RuntimePlugin, zip?: ZipSource): Promise<string> {
    const known = this.runDirs.get(`${meta.code_sha256}\n${plugin.name}`);
    if (known !== undefined && this.ready.has(known)) return Promise.resolve(known);
    const dir = this.dirOf(meta, plugin);
    const runDir = join(dir, plugin.build ? 'out' : 'src');
    if (this.ready.has(runDir)) return Promise.resolve(runDir);
    let p = this.pending.get(dir);
    if (!p) {
      p = (async () => {
        if (!(await exists(runDir))) await this.materialize(meta, plugin, dir, zip);
        this.ready.add(runDir);
        if (this.runDirs.size >= 10_000) this.runDirs.clear(); // a bound: it is only a shortcut
        this.runDirs.set(`${meta.code_sha256}\n${plugin.name}`, runDir);
        return runDir;
      })().finally(() => this.pending.delete(dir));
      this.pending.set(dir, p);
    }
    return p;
  }

  /** Resolves once no code is being prepared (a deploy prepares in the background): close waits for it. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending.values()]);
  }

  /** Drops a version's directory (after a function is deleted). */
  async evict(meta: FunctionMeta, plugin: RuntimePlugin): Promise<void> {
    for (const sub of ['src', 'out']) this.ready.delete(join(this.dirOf(meta, plugin), sub));
    await rm(this.dirOf(meta, plugin), { recursive: true, force: true });
  }

  private async materialize(meta: FunctionMeta, plugin: RuntimePlugin, dir: string, given?: ZipSource): Promise<void> {
    const tmp = `${dir}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      await mkdir(tmp, { recursive: true });
      // Code from storage goes to a file first: a large zip is never held whole in memory.
      const download = join(tmp, 'code.zip');
      const zip = given ?? download;
      if (given === undefined)
        await pipeline(
          await this.storage.get(meta.s3_key || codeKey(meta.function_id, meta.version)),
          createWriteStream(download),
        );
      if ((await digestOf(zip)).sha256 !== meta.code_sha256) {
        throw new NanoGridError(
          'INTERNAL',
          `code of function ${meta.function_id} does not match its recorded sha256 (storage corrupted or overwritten)`,
        );
      }
      const src = join(tmp, 'src');
      await extractZip(zip, src, {
        maxEntries: this.options.maxArchiveEntries,
        maxBytes: this.options.maxArchiveBytes,
      });
      await rm(download, { force: true });
      // Packages the manifest names (requirements.txt, package.json), from the dependency cache or installed now.
      await this.deps.provide(plugin, src);
      let runDir = src;
      if (plugin.build) {
        for (const [file, content] of Object.entries(plugin.build.files ?? {})) {
          await mkdir(dirname(join(src, file)), { recursive: true });
          await writeFile(join(src, file), content, { mode: 0o644 });
        }
        runDir = join(tmp, 'out');
        await mkdir(runDir, { recursive: true });
        await this.build(meta, plugin, src, runDir);
      }
      for (const [file, content] of Object.entries(plugin.bootstrap)) {
        await writeFile(join(runDir, file), content, { mode: 0o644 });
      }
      await mkdir(join(dir, '..'), { recursive: true });
      await rename(tmp, dir).catch(async (err: NodeJS.ErrnoException) => {
        // Another process prepared the same version first: theirs is as good as ours.
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
        await rm(tmp, { recursive: true, force: true });
      });
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /** Runs the runtime's compile step with no network; a failure is BUILD_FAILED with the compiler's output. */
  private async build(meta: FunctionMeta, plugin: RuntimePlugin, src: string, out: string): Promise<void> {
    const step = plugin.build!;
    const timeoutMs = step.timeoutMs ?? 120_000;
    const run = await this.sandbox.run({
      image: step.image ?? plugin.image,
      command: step.command(functionInfo(meta)),
      codeDir: src,
      outputDir: out,
      env: { NANOGRID_ENTRY_FILE: meta.entry_file, HANDLER: meta.handler },
      timeoutMs,
      memoryMb: step.memoryMb ?? 1024,
      cpus: Math.max(1, this.options.cpus),
      network: 'none',
      maxStdoutBytes: BUILD_LOG_MAX,
      maxStderrBytes: BUILD_LOG_MAX,
      labels: { 'nanogrid.build': meta.function_id },
    });
    if (run.exitCode === 0 && !run.timedOut && !run.oomKilled) return;
    const output = [run.stdout.trim(), run.stderr.trim()].filter(Boolean).join('\n').slice(-BUILD_LOG_MAX);
    const why = run.timedOut
      ? `ran past ${timeoutMs / 1000} s`
      : run.oomKilled
        ? 'ran out of memory'
        : `exited with code ${run.exitCode ?? run.signal}`;
    throw new NanoGridError('BUILD_FAILED', `the ${plugin.name} build ${why}:\n${output}`, {
      plugin: plugin.name,
      details: { field: 'file', output },
    });
  }
}

import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { extractZip } from '../archive/extract-zip.js';
import { zipTree } from '../archive/zip-tree.js';
import { ENGINE_OPTIONS, SANDBOX, STORAGE } from '../di/tokens.js';
import { inject, injectable } from '../di/tsyringe.js';
import { NanoGridError, isNanoGridError } from '../errors.js';
import type { DependencyInstall, RuntimeDependencyStep, RuntimePlugin } from '../plugins/runtime-plugin.js';
import type { Sandbox } from '../plugins/sandbox.js';
import type { StorageBackend } from '../plugins/storage-backend.js';
import type { EngineOptions } from './engine-options.js';
import { linkTree, treeSize } from './link-tree.js';

const LOG_MAX = 16 * 1024;
const MiB = 1024 * 1024;

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

function buildFailed(step: RuntimeDependencyStep, message: string, extra: Record<string, unknown> = {}): NanoGridError {
  return new NanoGridError('BUILD_FAILED', message, { details: { field: step.manifest, ...extra } });
}

/** Files of an installed tree a worker accepts from storage. */
const TREE_MAX_ENTRIES = 200_000;

/**
 * Installed dependency trees, one per manifest + lock files + install settings
 * (`work/deps/{sha256}`): a runtime's dependency step runs once per key, and
 * every code version with the same key gets the tree hard-linked into its code
 * directory. Concurrent requests for one key share the install. The installed
 * tree is also stored (`deps/{sha256}.zip`), so other machines (the workers of
 * a controller that installed at deploy) fetch the very tree the deploy checked
 * instead of installing again.
 */
@injectable()
export class DependencyCache {
  private readonly pending = new Map<string, Promise<string>>();

  constructor(
    @inject(SANDBOX) private readonly sandbox: Sandbox,
    @inject(STORAGE) private readonly storage: StorageBackend,
    @inject(ENGINE_OPTIONS) private readonly options: EngineOptions,
  ) {}

  /**
   * Puts the packages the upload's manifest names into `srcDir/<target>`.
   * Nothing happens without a manifest, when it names no package, or when the
   * upload carries its packages already (vendored).
   */
  async provide(plugin: RuntimePlugin, srcDir: string): Promise<void> {
    const step = plugin.dependencies;
    if (!step) return;
    const manifest = await readFile(join(srcDir, step.manifest), 'utf8').catch(() => undefined);
    if (manifest === undefined) return;
    const vendored = step.vendored;
    if (vendored && (await readdir(srcDir)).some((name) => vendored.test(name))) return;
    const locks: Record<string, string> = {};
    for (const name of step.lockFiles ?? []) {
      const text = await readFile(join(srcDir, name), 'utf8').catch(() => undefined);
      if (text !== undefined) locks[name] = text;
    }
    const install = step.plan({ manifest, locks, hostUrl: (url) => this.sandbox.hostUrl?.(url) ?? url });
    if (!install) return;
    const image = step.image ?? plugin.image;
    const key = createHash('sha256')
      .update(
        JSON.stringify([
          plugin.name,
          step.target,
          this.sandbox.name,
          image,
          install.fingerprint,
          manifest,
          Object.entries(locks).sort(),
        ]),
      )
      .digest('hex');
    const dir = join(this.options.workDir, 'deps', key.slice(0, 40));
    let p = this.pending.get(dir);
    if (!p) {
      p = (async () => {
        if (await exists(dir)) return dir;
        const stored = `deps/${key.slice(0, 40)}.zip`;
        if (!(await this.fetch(step, stored, dir)))
          await this.install(plugin, step, install, image, { manifest, locks }, dir, stored);
        return dir;
      })().finally(() => this.pending.delete(dir));
      this.pending.set(dir, p);
    }
    await p;
    const target = join(srcDir, step.target);
    await rm(target, { recursive: true, force: true });
    await linkTree(join(dir, step.target), target);
  }

  private async install(
    plugin: RuntimePlugin,
    step: RuntimeDependencyStep,
    install: DependencyInstall,
    image: string,
    input: { manifest: string; locks: Record<string, string> },
    dir: string,
    stored: string,
  ): Promise<void> {
    const what = `the packages of ${step.manifest} (${install.packages.slice(0, 10).join(', ')}${install.packages.length > 10 ? ', …' : ''})`;
    if (!this.sandbox.isolated && !step.allowUnisolated) {
      throw buildFailed(
        step,
        `installing ${what} needs an isolated sandbox, and the ${this.sandbox.name} sandbox runs plain host processes here: ` +
          "install bubblewrap or use the Docker sandbox (or set the runtime's dependencies.allowUnisolated), or vendor the packages into the upload",
      );
    }
    const tmp = `${dir}.tmp-${randomBytes(6).toString('hex')}`;
    const stage = join(tmp, 'in');
    const out = join(tmp, 'out');
    try {
      await mkdir(stage, { recursive: true });
      await mkdir(out, { recursive: true });
      const files = { ...install.files, ...input.locks, [step.manifest]: input.manifest };
      for (const [name, content] of Object.entries(files)) await writeFile(join(stage, name), content, { mode: 0o644 });
      const timeoutMs = step.timeoutMs ?? 300_000;
      let run;
      try {
        run = await this.sandbox.run({
          image,
          command: install.command,
          codeDir: stage,
          outputDir: out,
          env: install.env,
          timeoutMs,
          memoryMb: step.memoryMb ?? 1024,
          cpus: Math.max(1, this.options.cpus),
          // The network is open for the install only; runs keep the function's policy.
          network: 'internet',
          maxStdoutBytes: LOG_MAX,
          maxStderrBytes: LOG_MAX,
          labels: { 'nanogrid.build': `deps-${plugin.name}` },
        });
      } catch (err) {
        if (isNanoGridError(err, 'OUTPUT_TOO_LARGE'))
          throw buildFailed(step, `installing ${what} gave more files than the sandbox copies out: ${err.message}`);
        throw err;
      }
      const output = [run.stdout.trim(), run.stderr.trim()].filter(Boolean).join('\n').slice(-LOG_MAX);
      if (run.exitCode !== 0 || run.timedOut || run.oomKilled) {
        const why = run.timedOut
          ? `ran past ${timeoutMs / 1000} s`
          : run.oomKilled
            ? 'ran out of memory'
            : `exited with code ${run.exitCode ?? run.signal}`;
        throw buildFailed(step, `installing ${what} failed: the installer ${why}:\n${output}`, {
          output,
          packages: install.packages,
        });
      }
      const tree = join(out, step.target);
      await mkdir(tree, { recursive: true });
      const size = await treeSize(tree);
      const maxBytes = step.maxBytes ?? 512 * MiB;
      if (size.bytes > maxBytes) {
        throw buildFailed(
          step,
          `the packages of ${step.manifest} take ${Math.ceil(size.bytes / MiB)} MiB installed, over the ${Math.floor(maxBytes / MiB)} MiB limit`,
          {
            packages: install.packages,
          },
        );
      }
      await this.storage.put(stored, await zipTree(tree), { contentType: 'application/zip' });
      await this.settle(out, dir);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** The tree another machine installed, from storage; false when there is none. */
  private async fetch(step: RuntimeDependencyStep, stored: string, dir: string): Promise<boolean> {
    let body;
    try {
      body = await this.storage.get(stored);
    } catch (err) {
      if (isNanoGridError(err, 'NOT_FOUND')) return false;
      throw err;
    }
    const tmp = `${dir}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      await mkdir(tmp, { recursive: true });
      const file = join(tmp, 'tree.zip');
      await pipeline(body, createWriteStream(file));
      const out = join(tmp, 'out');
      await mkdir(join(out, step.target), { recursive: true });
      await extractZip(file, join(out, step.target), {
        maxEntries: TREE_MAX_ENTRIES,
        maxBytes: step.maxBytes ?? 512 * MiB,
      });
      await this.settle(out, dir);
      return true;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  private async settle(out: string, dir: string): Promise<void> {
    await mkdir(join(dir, '..'), { recursive: true });
    await rename(out, dir).catch((err: NodeJS.ErrnoException) => {
      // Another process prepared the same key first: theirs is as good as ours.
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    });
  }
}

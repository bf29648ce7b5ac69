import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { NanoGridError } from '../errors.js';
import type { StartKind } from '../job.js';
import type { WarmRunResult, WarmRunSpec } from '../plugins/sandbox.js';
import { ProcessTree } from './process-tree.js';
import { WarmChannel, WarmStderr, answeredRun } from './warm-channel.js';
import { WarmPoolBase, type WarmInstance, type WarmPoolOptions } from './warm-pool-base.js';

/** What to exec for a serve command, planned by the process sandbox (bubblewrap or plain). */
export interface ProcessPlan {
  file: string;
  args: string[];
  env: Record<string, string>;
}

export interface ProcessWarmPoolDeps {
  /** Plans `command` over `codeDir` with the instance's own output and temp directories. */
  plan(spec: WarmRunSpec, command: string[], outputDir: string, tmpDir: string): ProcessPlan;
  /** Parent of the instances' directories. */
  tmpRoot: string;
  pageBytes: number;
  /** How often a running call's memory is sampled. */
  sampleMs: number;
}

interface Instance extends WarmInstance {
  tree: ProcessTree;
  channel: WarmChannel;
  stdin: Writable;
  stderr: WarmStderr;
  dir: string;
  outputDir: string;
  /** When its processes were last walked in /proc (0: never). */
  walkedAt: number;
  /** Resolves once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const MiB = 1024 * 1024;

/**
 * Warm instances in the process sandbox: one host process (inside bubblewrap
 * when it is there) per function version runs the runtime's serve command
 * with its own output and temp directories, which the server empties before
 * every call. A call past its deadline or its memory limit (summed RSS of the
 * process tree, sampled) kills the instance; so does a crash or garbage on
 * the channel. Output files are copied to the job's output directory.
 */
export class ProcessWarmPool extends WarmPoolBase<Instance> {
  protected readonly plugin = 'process';

  constructor(
    private readonly deps: ProcessWarmPoolDeps,
    opts: WarmPoolOptions = {},
  ) {
    super(opts);
  }

  protected async start(spec: WarmRunSpec): Promise<{ instance: Instance; start: StartKind }> {
    await mkdir(this.deps.tmpRoot, { recursive: true });
    const dir = await mkdtemp(join(this.deps.tmpRoot, 'nanogrid-warm-'));
    const outputDir = join(dir, 'output');
    const tmpDir = join(dir, 'tmp');
    await Promise.all([mkdir(outputDir), mkdir(tmpDir)]);
    let plan: ProcessPlan;
    try {
      plan = this.deps.plan(spec, spec.serveCommand, outputDir, tmpDir);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    const child = spawn(plan.file, plan.args, {
      cwd: spec.codeDir,
      env: plan.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    const [stdin, stdout, stderr, status] = child.stdio as unknown as [Writable, Readable, Readable, Readable];
    status.resume(); // bubblewrap's --json-status-fd: not needed to tell a crash here
    // 'exit', not 'close': a grandchild holding the pipes must not keep the instance alive.
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    const failedToStart = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', resolve);
    });
    if (failedToStart || child.pid === undefined) {
      await rm(dir, { recursive: true, force: true });
      throw new NanoGridError('SANDBOX_ERROR', `could not start ${plan.file}: ${failedToStart?.message ?? 'no pid'}`, {
        plugin: this.plugin,
        cause: failedToStart,
      });
    }
    const instance: Instance = {
      key: spec.key,
      busy: false,
      dead: false,
      lastUsed: Date.now(),
      walkedAt: 0,
      tree: new ProcessTree(child.pid, this.deps.pageBytes),
      channel: new WarmChannel(stdout, stdin),
      stdin,
      stderr: new WarmStderr(spec.maxStderrBytes ?? MiB),
      dir,
      outputDir,
      exited,
    };
    stderr.on('data', (c: Buffer) => instance.stderr.write(c));
    void exited.then(() => {
      instance.dead = true;
      instance.channel.end();
    });
    return { instance, start: 'cold' };
  }

  protected async call(i: Instance, spec: WarmRunSpec): Promise<Omit<WarmRunResult, 'start'>> {
    i.stderr.reset(spec.maxStderrBytes ?? MiB);
    const t0 = performance.now();
    const limit = spec.memoryMb > 0 ? spec.memoryMb * MiB : 0;
    let timedOut = false;
    let oomKilled = false;
    let peak = 0;
    const kill = (): void => {
      i.dead = true;
      i.tree.killAll();
    };
    const over = (bytes: number): void => {
      peak = Math.max(peak, bytes);
      if (limit > 0 && bytes > limit && !oomKilled && !timedOut) {
        oomKilled = true;
        kill();
      }
    };
    // The instance's processes are walked in /proc at most once a second (and by the sampler of
    // long calls): a walk per call would cost more than the call itself on the hot path.
    const walk = (): void => {
      i.tree.sample();
      i.walkedAt = performance.now();
    };
    const first = i.walkedAt === 0;
    if (performance.now() - i.walkedAt > 1000) walk();
    i.tree.resetPeaks();
    const sampler = setInterval(() => over(i.tree.sample().rssBytes), this.deps.sampleMs);
    const timer = setTimeout(() => {
      if (oomKilled) return;
      timedOut = true;
      kill();
    }, spec.timeoutMs);
    spec.signal?.addEventListener('abort', kill, { once: true });
    const answer = await i.channel.call(spec.invocationEnv).finally(() => {
      clearInterval(sampler);
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', kill);
    });
    if (!i.dead) {
      // The high-water mark since the reset catches a spike shorter than a sample; over the limit, the call failed.
      if (first) walk(); // the server had perhaps not started its runtime yet at the first walk
      over(i.tree.peakBytes());
    }
    if (answer.kind === 'answered' && !i.dead) await i.stderr.settled(1000); // stderr is a pipe of its own
    const base = {
      ...(peak > 0 ? { peakMemoryBytes: peak } : {}),
      stderr: i.stderr.toString(),
      stderrTruncated: i.stderr.truncated,
      stdoutTruncated: false,
      durationMs: Math.round(performance.now() - t0),
      timedOut,
      oomKilled,
    };
    if (timedOut || oomKilled) return { ...base, exitCode: null, signal: 'SIGKILL', stdout: '' };
    if (answer.kind === 'garbage') {
      kill();
      return { ...base, exitCode: null, signal: null, stdout: '', protocolError: answer.message };
    }
    if (answer.kind === 'ended') {
      i.dead = true;
      const { code, signal } = await i.exited;
      return { ...base, exitCode: code, signal, stdout: '' };
    }
    const { meta, resultLine } = answer;
    // A program the exec server started and reaped is gone from the tree: its own peak comes with the answer.
    if (meta.maxrss !== undefined) {
      over(meta.maxrss);
      if (oomKilled)
        return { ...base, peakMemoryBytes: peak, oomKilled, exitCode: null, signal: 'SIGKILL', stdout: '' };
    }
    if ((meta.outputs ?? 0) > 0) await this.moveOutputs(i, spec.outputDir);
    return { ...base, ...(peak > 0 ? { peakMemoryBytes: peak } : {}), ...answeredRun(meta, resultLine) };
  }

  /** Copies what the call left in the instance's output directory to the job's. */
  private async moveOutputs(i: Instance, to: string): Promise<void> {
    await mkdir(to, { recursive: true });
    for (const name of await readdir(i.outputDir))
      await cp(join(i.outputDir, name), join(to, name), { recursive: true, verbatimSymlinks: true });
  }

  protected async destroy(i: Instance): Promise<void> {
    i.dead = true;
    i.stdin.destroy();
    i.tree.killAll();
    i.tree.close();
    await i.exited;
    i.channel.end();
    await rm(i.dir, { recursive: true, force: true });
  }
}

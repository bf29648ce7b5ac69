import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { NanoGridError } from '../errors.js';
import type { StartKind } from '../job.js';
import type { WarmRunResult, WarmRunSpec } from '../plugins/sandbox.js';
import { bwrapOutputsFromHost } from './bwrap.js';
import { copyOutputs } from './copy-outputs.js';
import { PeakRearm } from './peak-rearm.js';
import type { ProcessPlan } from './process-plan.js';
import { ProcessTree } from './process-tree.js';
import { joinCgroups, type RunCgroup } from './run-cgroup.js';
import { WarmChannel, type WarmExchange, answeredRun } from './warm-channel.js';
import { WarmStderr } from './warm-stderr.js';
import { type EvictedRemoval, WarmPoolBase, type WarmInstance, type WarmPoolOptions } from './warm-pool-base.js';

/** What every outcome of a warm call reports, whatever its end. */
type BaseResult = Pick<
  WarmRunResult,
  'stderr' | 'stderrTruncated' | 'stdoutTruncated' | 'durationMs' | 'timedOut' | 'oomKilled' | 'peakMemoryBytes'
>;

export interface ProcessWarmPoolDeps {
  /** Plans `command` over `codeDir` with the instance's own output and temp directories. */
  plan(spec: WarmRunSpec, command: string[], outputDir: string, tmpDir: string): ProcessPlan;
  /** Parent of the instances' directories. */
  tmpRoot: string;
  pageBytes: number;
  /** How often a running call's memory is sampled. */
  sampleMs: number;
  /** Instances run inside bubblewrap: their /tmp and /output are a tmpfs in their own mount namespace. */
  isolated: boolean;
  /** Bytes of a run's tmpfs (RAM), given the pid of a process inside. */
  tmpfsUsed(childPid: number | undefined): number;
  /** The instance's own cgroups (memory limit, pids limit), where the worker can make them. */
  cgroup?(memoryMb: number): RunCgroup | undefined;
}

interface Instance extends WarmInstance {
  tree: ProcessTree;
  channel: WarmChannel;
  stdin: Writable;
  stderr: WarmStderr;
  dir: string;
  /** Where the instance's outputs are seen from the host. */
  outputDir: string;
  /** bubblewrap's child (its root is the instance's), once bubblewrap reported it. */
  childPid: number | undefined;
  /** Memory limit of its function, bytes (0: none). */
  limitBytes: number;
  /** Its cgroups: the kernel holds its memory and pids limits between calls too. */
  cgroup: RunCgroup | undefined;
  /** OOM kills in its cgroup already accounted for (the exec server's programs). */
  oomSeen: number;
  /** CPU ticks of its processes when its last call ended (the idle watchdog's baseline; -1: not taken yet). */
  idleTicks: number;
  /** When its processes were last walked in /proc (0: never). */
  walkedAt: number;
  /** Resets its processes' `VmHWM` between calls. */
  peaks: PeakRearm;
  /** Resolves once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const MiB = 1024 * 1024;
/** How often idle instances are looked at. */
const WATCH_MS = 500;
/** CPU an idle instance may use between two calls, clock ticks (USER_HZ, 100 on Linux): 0.3 s. */
const IDLE_CPU_TICKS = 30;

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

  private readonly watchdog: ReturnType<typeof setInterval>;

  constructor(
    private readonly deps: ProcessWarmPoolDeps,
    opts: WarmPoolOptions = {},
  ) {
    super(opts);
    this.watchdog = setInterval(() => this.watch(), WATCH_MS);
    this.watchdog.unref();
  }

  override async close(): Promise<void> {
    clearInterval(this.watchdog);
    await super.close();
  }

  /**
   * Limits hold between calls too: an idle instance over its memory limit
   * (RSS and its tmpfs), or using CPU while it has no call (a thread left
   * running by the handler), is killed; the next call starts a fresh one.
   */
  private watch(): void {
    for (const i of this.instances) {
      if (i.busy || i.dead) continue;
      const { rssBytes, cpuTicks } = i.tree.sample();
      if (i.idleTicks < 0) i.idleTicks = cpuTicks;
      const overMemory = i.limitBytes > 0 && rssBytes + this.deps.tmpfsUsed(i.childPid) > i.limitBytes;
      if (overMemory || cpuTicks - i.idleTicks > IDLE_CPU_TICKS) {
        i.dead = true;
        i.tree.killAll();
        void this.discard(i);
      }
    }
  }

  protected async start(spec: WarmRunSpec, evicted: EvictedRemoval): Promise<{ instance: Instance; start: StartKind }> {
    await evicted(); // a new process: the one it replaces is gone first
    await mkdir(this.deps.tmpRoot, { recursive: true });
    const dir = await mkdtemp(join(this.deps.tmpRoot, 'nanogrid-warm-'));
    // bubblewrap: the instance's /output is in its own namespace (set once bubblewrap names its child).
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
    const cgroup = this.deps.cgroup?.(spec.memoryMb);
    const launch = cgroup ? joinCgroups(cgroup.procs, plan.file, plan.args) : plan;
    const child = spawn(launch.file, launch.args, {
      cwd: this.deps.isolated ? '/' : spec.codeDir,
      env: plan.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'ignore', plan.argsBlock ? 'pipe' : 'ignore'],
    });
    const [stdin, stdout, stderr, status, , argsIn] = child.stdio as unknown as [
      Writable,
      Readable,
      Readable,
      Readable,
      null,
      Writable | null,
    ];
    argsIn?.on('error', () => {});
    argsIn?.end(plan.argsBlock);
    // bubblewrap's --json-status-fd: its first line names its child, whose root is the instance's.
    let statusText = '';
    let instance: Instance | undefined;
    let childPid: number | undefined;
    const onStatus = (chunk: Buffer): void => {
      statusText += chunk.toString('latin1');
      const m = /"child-pid":\s*(\d+)/.exec(statusText);
      if (m || statusText.length > 4096) {
        status.off('data', onStatus);
        status.resume();
        if (m) childPid = Number(m[1]);
        if (instance && childPid !== undefined) {
          instance.childPid = childPid;
          instance.outputDir = bwrapOutputsFromHost(childPid);
          instance.tree.setLaunchers([instance.tree.rootPid, childPid]);
        }
      }
    };
    status.on('data', onStatus);
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
      await cgroup?.remove();
      throw new NanoGridError(
        'SANDBOX_ERROR',
        `could not start a warm instance: ${(failedToStart as NodeJS.ErrnoException | undefined)?.code ?? 'no pid'}`,
        { plugin: this.plugin, cause: failedToStart },
      );
    }
    // The stderr pipe's own fd (libuv's end, non-blocking): each call's stderr is read from it once the answer is
    // in. Where Node does not show it, the server ends each call's stderr with a mark instead.
    const errFd = pipeFd(stderr);
    const tree = new ProcessTree(child.pid, this.deps.pageBytes);
    instance = {
      key: spec.key,
      busy: false,
      dead: false,
      lastUsed: Date.now(),
      walkedAt: 0,
      tree,
      channel: new WarmChannel(stdout, stdin, undefined, errFd === undefined),
      stdin,
      stderr: new WarmStderr(spec.maxStderrBytes ?? MiB),
      dir,
      outputDir: !this.deps.isolated ? outputDir : childPid !== undefined ? bwrapOutputsFromHost(childPid) : '',
      childPid,
      limitBytes: spec.memoryMb > 0 ? spec.memoryMb * MiB : 0,
      cgroup,
      oomSeen: 0,
      idleTicks: -1,
      exited,
      peaks: new PeakRearm(
        () => tree.resetPeaks(),
        () => !started.busy && !started.dead,
      ),
    };
    const started: Instance = instance;
    // bubblewrap's outer process (what was spawned) and its pid 1: see ProcessTree.setLaunchers.
    if (this.deps.isolated && childPid !== undefined) started.tree.setLaunchers([child.pid, childPid]);
    started.stderr.attach(stderr, errFd);
    void exited.then(() => {
      started.dead = true;
      started.channel.end();
    });
    return { instance: started, start: 'cold' };
  }

  protected async call(i: Instance, spec: WarmRunSpec): Promise<Omit<WarmRunResult, 'start'>> {
    i.stderr.reset(spec.maxStderrBytes ?? MiB, spec.onOutput);
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
    i.peaks.beforeCall();
    // Cancelled while it waited for this instance: the event has already fired.
    if (spec.signal?.aborted) kill();
    // The request goes out first (`call` writes it before its first await); the watchers below are armed in the
    // same turn, before any event can be handled, while the instance already works on the call.
    const exchange = i.channel.call(spec.invocationEnv, spec.onOutput);
    const sampler = setInterval(
      () => over(i.tree.sample().rssBytes + this.deps.tmpfsUsed(i.childPid)),
      this.deps.sampleMs,
    );
    const timer = setTimeout(() => {
      if (oomKilled) return;
      timedOut = true;
      kill();
    }, spec.timeoutMs);
    spec.signal?.addEventListener('abort', kill, { once: true });
    let answer: WarmExchange;
    try {
      answer = await exchange;
    } finally {
      clearInterval(sampler);
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', kill);
    }
    if (!i.dead) {
      // The high-water mark since the reset catches a spike shorter than a sample; over the limit, the call failed.
      if (first) walk(); // the server had perhaps not started its runtime yet at the first walk
      over(i.tree.peakBytes());
      i.peaks.afterRead();
    }
    // Whatever the end: what it wrote before it (the last words of a crash too) is in the pipe now.
    const unread = answer.kind === 'answered' ? answer.meta.stderr : undefined;
    await i.stderr.collect(answer.kind === 'answered' && !i.dead, unread, 1000);
    // Assignments, not conditional spreads: built per call, and spreads cost V8 ~25× more here (~3 µs, measured).
    const base: BaseResult = {
      stderr: i.stderr.toString(),
      stderrTruncated: i.stderr.truncated,
      stdoutTruncated: false,
      durationMs: Math.round(performance.now() - t0),
      timedOut,
      oomKilled,
    };
    if (peak > 0) base.peakMemoryBytes = peak;
    if (timedOut || oomKilled) return { ...base, exitCode: null, signal: 'SIGKILL', stdout: '' };
    if (answer.kind === 'garbage') {
      kill();
      return { ...base, exitCode: null, signal: null, stdout: '', protocolError: answer.message };
    }
    if (answer.kind === 'ended') {
      i.dead = true;
      const { code, signal } = await i.exited;
      // Killed by the kernel at its cgroup's memory limit: the call ran out of memory.
      if (i.cgroup && i.cgroup.oomKills() > i.oomSeen)
        return { ...base, oomKilled: true, exitCode: null, signal: 'SIGKILL', stdout: '' };
      return { ...base, exitCode: code, signal, stdout: '' };
    }
    const { meta, resultLine } = answer;
    // The exec server's program, killed in the instance's cgroup (the server may not see the cgroup's files itself).
    if (i.cgroup && (meta.oom || meta.signal === 'SIGKILL')) {
      const kills = i.cgroup.oomKills();
      if (kills > i.oomSeen && !meta.oom) meta.oom = true;
      i.oomSeen = kills;
    }
    // A program the exec server started and reaped is gone from the tree: its own peak comes with the answer.
    if (meta.maxrss !== undefined) {
      over(meta.maxrss);
      if (oomKilled)
        return { ...base, peakMemoryBytes: peak, oomKilled, exitCode: null, signal: 'SIGKILL', stdout: '' };
    }
    i.idleTicks = -1; // the watchdog takes its baseline at its next look
    if ((meta.outputs ?? 0) > 0) await this.moveOutputs(i, spec.outputDir);
    if (peak > 0) base.peakMemoryBytes = peak; // the exec server's own peak may have raised it
    return Object.assign(base, answeredRun(meta, resultLine));
  }

  /**
   * Copies what the call left in the instance's output directory to the
   * job's, with the instance stopped: a thread still running after the answer
   * cannot swap a file for a link meanwhile (and links are not followed anyway).
   */
  private async moveOutputs(i: Instance, to: string): Promise<void> {
    if (!i.outputDir) return;
    i.tree.stopAll();
    try {
      await copyOutputs(i.outputDir, to, { plugin: this.plugin, maxBytes: this.opts.maxOutputBytes ?? 256 * MiB });
    } catch (err) {
      i.dead = true; // whatever it left is not trusted for the next call either
      throw err;
    } finally {
      i.tree.contAll();
    }
  }

  protected async destroy(i: Instance): Promise<void> {
    i.dead = true;
    i.stdin.destroy();
    i.tree.killAll();
    i.tree.close();
    await i.exited;
    i.channel.end();
    await rm(i.dir, { recursive: true, force: true });
    await i.cgroup?.remove();
  }
}

/** The file descriptor under a child's pipe stream (Node's handle shows it on Unix), or undefined. */
function pipeFd(stream: Readable): number | undefined {
  const fd = (stream as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { NanoGridError } from '../errors.js';
import type { SandboxRunResult } from '../plugins/sandbox.js';
import { CappedBuffer } from './capped-buffer.js';
import { ProcessTree } from './process-tree.js';

/** A fully planned host process: what to exec and the limits to watch. */
export interface SupervisedRun {
  /** Absolute path of the program (bwrap, nice or the command itself). */
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  stdin?: string;
  timeoutMs: number;
  /** Resident memory the whole process tree may use; 0 means no limit. */
  memoryBytes: number;
  /** How often the tree's memory is sampled. */
  sampleMs: number;
  maxStdoutBytes: number;
  maxStderrBytes: number;
  /** Page size of this host (see `pageSize()`). */
  pageBytes: number;
  signal?: AbortSignal;
  /** When given, the child gets a pipe on fd 3 whose bytes land here (bubblewrap's `--json-status-fd 3`). */
  statusPipe?: CappedBuffer;
  /** Plugin name for errors. */
  plugin: string;
}

/** setTimeout fires at once past this (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** After the main process exits, how long leftover pipe holders get before the pipes are cut. */
const CLOSE_GRACE_MS = 2000;

/**
 * Starts a process in its own process group and watches it: timeout, memory
 * (summed RSS of the tree, sampled from /proc), abort, capped output. The
 * run's own failures land in the result; only a failure to start rejects.
 */
export function runSupervised(run: SupervisedRun): Promise<SandboxRunResult> {
  return new Promise<SandboxRunResult>((resolve, reject) => {
    const started = performance.now();
    const stdout = new CappedBuffer(run.maxStdoutBytes, 'head');
    const stderr = new CappedBuffer(run.maxStderrBytes, 'tail');
    let timedOut = false;
    let oomKilled = false;
    let peak: number | undefined;
    let exited = false;

    // detached: the child leads a new process group, so -pid reaches its children too.
    const child = spawn(run.file, run.args, {
      cwd: run.cwd,
      env: run.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe', run.statusPipe ? 'pipe' : 'ignore'],
    });
    const [stdin, out, err, status] = child.stdio as unknown as [Writable, Readable, Readable, Readable | null];
    const tree = child.pid !== undefined ? new ProcessTree(child.pid, run.pageBytes) : undefined;
    const killAll = () => tree?.killAll();

    const sample = () => {
      if (!tree || exited) return; // after exit: leftovers are being killed, not the run's memory anymore
      const { rssBytes } = tree.sample();
      peak = Math.max(peak ?? 0, rssBytes);
      if (run.memoryBytes > 0 && rssBytes > run.memoryBytes && !oomKilled && !timedOut) {
        oomKilled = true;
        killAll();
      }
    };
    const sampler = setInterval(sample, run.sampleMs);
    sample();
    const timer = setTimeout(
      () => {
        if (oomKilled) return;
        timedOut = true;
        killAll();
      },
      Math.min(run.timeoutMs, MAX_TIMER_MS),
    );
    const onAbort = () => killAll();
    run.signal?.addEventListener('abort', onAbort, { once: true });
    let closeGuard: NodeJS.Timeout | undefined;

    const stopWatching = () => {
      clearInterval(sampler);
      clearTimeout(timer);
      run.signal?.removeEventListener('abort', onAbort);
    };

    out.on('data', (chunk: Buffer) => stdout.write(chunk));
    err.on('data', (chunk: Buffer) => stderr.write(chunk));
    status?.on('data', (chunk: Buffer) => run.statusPipe?.write(chunk));
    stdin.on('error', () => {
      // EPIPE: the program exited or closed stdin without reading it all; not an error of the run.
    });
    stdin.end(run.stdin ?? '');

    child.on('error', (error: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return; // a started process reports through 'exit'/'close'
      stopWatching();
      reject(
        new NanoGridError('SANDBOX_ERROR', `could not start ${run.file}: ${error.message}`, {
          plugin: run.plugin,
          cause: error,
          details: { file: run.file, errno: error.code },
        }),
      );
    });

    child.on('exit', () => {
      exited = true;
      stopWatching();
      // One-shot runs leave nothing behind: background children die with the main process.
      killAll();
      // A process that escaped the tree may still hold the pipes open: cut them after a grace period.
      closeGuard = setTimeout(() => {
        out.destroy();
        err.destroy();
        status?.destroy();
      }, CLOSE_GRACE_MS);
    });

    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      if (child.pid === undefined) return;
      clearTimeout(closeGuard);
      stopWatching();
      resolve({
        exitCode: code,
        signal,
        stdout: stdout.toString(),
        stderr: stderr.toString(),
        stdoutTruncated: stdout.truncated,
        stderrTruncated: stderr.truncated,
        timedOut,
        oomKilled,
        durationMs: Math.round(performance.now() - started),
        ...(peak !== undefined ? { peakMemoryBytes: peak } : {}),
      });
    });
  });
}

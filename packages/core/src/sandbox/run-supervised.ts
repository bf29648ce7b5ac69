import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { NanoGridError } from '../errors.js';
import type { OutputListener, SandboxRunResult } from '../plugins/sandbox.js';
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
  /** Hears stdout and stderr as they come (live logs). */
  onOutput?: OutputListener;
  /** When given, the child gets a pipe on fd 3 whose bytes land here (bubblewrap's `--json-status-fd 3`). */
  statusPipe?: CappedBuffer;
  /** Written to the child's fd 5, then closed (bubblewrap's `--args 5`). */
  argsBlock?: Buffer;
  /**
   * The command runs under a holder that writes its exit status (a shell's
   * `$?`) on fd 4 and then waits, so the run's mount namespace outlives it.
   * Called with the status; the run is killed once it resolves.
   */
  onDone?(status: number, tree: ProcessTree): Promise<void>;
  /** Bytes counted with the sampled RSS (a run's tmpfs, which RSS does not show). */
  extraMemory?(): number;
  /** Plugin name for errors. */
  plugin: string;
}

/** A shell's `$?` as an exit code or a signal (128 + n: killed by signal n). */
export function shellStatus(status: number): { exitCode: number | null; signal: NodeJS.Signals | null } {
  if (status > 128 && status < 128 + 65) {
    const name = Object.entries(constants.signals).find(([, n]) => n === status - 128)?.[0];
    if (name) return { exitCode: null, signal: name as NodeJS.Signals };
  }
  return { exitCode: status, signal: null };
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
      stdio: [
        'pipe',
        'pipe',
        'pipe',
        run.statusPipe ? 'pipe' : 'ignore',
        run.onDone ? 'pipe' : 'ignore',
        run.argsBlock ? 'pipe' : 'ignore',
      ],
    });
    const [stdin, out, err, status, done, argsIn] = child.stdio as unknown as [
      Writable,
      Readable,
      Readable,
      Readable | null,
      Readable | null,
      Writable | null,
    ];
    /** The holder's report of the command's exit status, once it came. */
    let held: number | undefined;
    const tree = child.pid !== undefined ? new ProcessTree(child.pid, run.pageBytes) : undefined;
    const killAll = () => tree?.killAll();

    const sample = () => {
      if (!tree || exited) return; // after exit: leftovers are being killed, not the run's memory anymore
      const rssBytes = tree.sample().rssBytes + (run.extraMemory?.() ?? 0);
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
    // Aborted while the run was being set up (after the sandbox's own check): no event will come.
    if (run.signal?.aborted) onAbort();
    let closeGuard: NodeJS.Timeout | undefined;

    const stopWatching = () => {
      clearInterval(sampler);
      clearTimeout(timer);
      run.signal?.removeEventListener('abort', onAbort);
    };

    const live = run.onOutput;
    out.on('data', (chunk: Buffer) => {
      stdout.write(chunk);
      live?.('stdout', chunk);
    });
    err.on('data', (chunk: Buffer) => {
      stderr.write(chunk);
      live?.('stderr', chunk);
    });
    status?.on('data', (chunk: Buffer) => run.statusPipe?.write(chunk));
    stdin.on('error', () => {
      // EPIPE: the program exited or closed stdin without reading it all; not an error of the run.
    });
    stdin.end(run.stdin ?? '');
    argsIn?.on('error', () => {});
    argsIn?.end(run.argsBlock);
    let doneText = '';
    done?.on('data', (chunk: Buffer) => {
      if (held !== undefined || timedOut || oomKilled) return;
      doneText += chunk.toString('latin1');
      const line = /^(\d+)\n/.exec(doneText);
      if (!line) return;
      held = Number(line[1]);
      stopWatching();
      collecting = run.onDone!(held, tree!)
        .catch((e: unknown) => void (doneError ??= e))
        .finally(killAll);
    });
    let doneError: unknown;
    let collecting: Promise<void> | undefined;

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
        done?.destroy();
      }, CLOSE_GRACE_MS);
    });

    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      if (child.pid === undefined) return;
      // Outputs being collected are the run's: it is over once they are in.
      if (collecting) void collecting.then(() => finish(code, signal));
      else finish(code, signal);
    });

    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(closeGuard);
      stopWatching();
      if (doneError !== undefined) {
        reject(doneError);
        return;
      }
      const ended = held !== undefined ? shellStatus(held) : { exitCode: code, signal };
      resolve({
        ...ended,
        stdout: stdout.toString(),
        stderr: stderr.toString(),
        stdoutTruncated: stdout.truncated,
        stderrTruncated: stderr.truncated,
        timedOut,
        oomKilled,
        durationMs: Math.round(performance.now() - started),
        ...(peak !== undefined ? { peakMemoryBytes: peak } : {}),
      });
    };
  });
}

import type { StartKind } from '../job.js';
import type { NetworkPolicy } from '../function-meta.js';

/** Files and directories a run may leave in its output directory, in every sandbox; more fails it with OUTPUT_TOO_LARGE. */
export const MAX_OUTPUT_FILES = 10_000;

/** Space of a run's /tmp and /output together, MiB, when its spec names none. */
export const DEFAULT_DISK_MB = 512;

/** Which output a chunk came from. */
export type OutputStream = 'stdout' | 'stderr';

/**
 * Receives a run's output while it runs, in chunks as they arrive (not lines;
 * a Buffer may end inside a UTF-8 character). Called synchronously from the
 * sandbox's stream handlers: it must be cheap and must not throw.
 */
export type OutputListener = (stream: OutputStream, chunk: Buffer | string) => void;

/** One run of a command over a code directory: a function invocation or a build. */
export interface SandboxRunSpec {
  /** Container image (Docker sandbox); the process sandbox uses the host's toolchain instead. */
  image: string;
  /** Command run with the code directory as working directory. */
  command: string[];
  /** Host directory holding the code and bootstrap; seen read-only at `/code` in a container. */
  codeDir: string;
  /**
   * Host directory that receives what the run leaves in its output directory
   * (`/output` in a container; `OUTPUT_DIR` in the environment either way).
   * Its owner (the Executor) names and removes it; the sandbox makes it (it
   * may not exist yet) only when the run left outputs, and only copies
   * regular files into it, never links, at most MAX_OUTPUT_FILES, and
   * nothing from a run it killed.
   */
  outputDir: string;
  /** Extra environment; the sandbox adds `OUTPUT_DIR`, `TMPDIR` and `HOME`. */
  env: Record<string, string>;
  /** Written to the program's standard input, then closed. */
  stdin?: string;
  timeoutMs: number;
  memoryMb: number;
  /** Space of /tmp and /output together, MiB: writes past it fail with ENOSPC inside the run. @default 512 */
  diskMb?: number;
  /** CPU share. @default 0.5 */
  cpus?: number;
  network: NetworkPolicy;
  /** AI endpoint a `network: 'ai'` run may reach. */
  aiEndpoint?: string;
  /** Bytes of stdout kept (the head); more sets `stdoutTruncated`. @default 8 MiB */
  maxStdoutBytes?: number;
  /** Bytes of stderr kept (the tail); more sets `stderrTruncated`. @default 1 MiB */
  maxStderrBytes?: number;
  /** Labels for the container / process group (job id, function id …). */
  labels?: Record<string, string>;
  signal?: AbortSignal;
  /**
   * Live output: stdout and stderr chunks while the run goes on (the result's
   * `stdout`/`stderr` are unchanged). A warm call reports its handler's prints
   * (LOG frames) as `stdout` and its stderr as `stderr`.
   */
  onOutput?: OutputListener;
}

export interface SandboxRunResult {
  /** Exit code, or null when killed by a signal. */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** Killed because it outlived `timeoutMs`. */
  timedOut: boolean;
  /** Killed for going over `memoryMb`. */
  oomKilled: boolean;
  durationMs: number;
  peakMemoryBytes?: number;
}

/**
 * One invocation served by a warm instance: a long-lived container running the
 * runtime's serve command, shared by every spec with the same `key`.
 */
export interface WarmRunSpec extends Omit<SandboxRunSpec, 'command' | 'stdin'> {
  /** Instances are reused only for the same key (function version, memory, network). */
  key: string;
  /** The runtime's warm server (RuntimePlugin.serve). */
  serveCommand: string[];
  /** Environment of this invocation only (PAYLOAD, JOB_ID, deadline), sent with the request. */
  invocationEnv: Record<string, string>;
  /** The runtime's prewarm starter (RuntimePlugin.serve.prewarm): only a spare it started may take this function. */
  prewarm?: string[];
}

export interface WarmRunResult extends SandboxRunResult {
  /** `cold` when an instance was started for this invocation. */
  start: StartKind;
  /** Files the call left in /output (copied to `outputDir` when there are any). */
  outputCount?: number;
  /** Set when the instance broke the protocol (garbage on its channel); it was discarded. */
  protocolError?: string;
}

/** Generic instances of one image, started before any function needs them. */
export interface PrewarmSpec {
  image: string;
  /** The runtime's `serve.prewarm` starter. */
  command: string[];
  count: number;
  /** Memory of a spare; changed to the function's when one is taken. @default 512 */
  memoryMb?: number;
  /**
   * The runtime's bootstrap files (RuntimePlugin.bootstrap): where the sandbox
   * can, it puts them in the spare's code directory before it starts, so the
   * starter loads the runtime before any function is known.
   */
  files?: Record<string, string>;
}

/** Runs untrusted code with limits: a Docker container or a host process. */
export interface Sandbox {
  readonly name: string;
  /** True when runs are isolated from the host (container, bubblewrap). */
  readonly isolated: boolean;
  run(spec: SandboxRunSpec): Promise<SandboxRunResult>;
  /** Warm path: present on sandboxes that keep instances alive between invocations. */
  runWarm?(spec: WarmRunSpec): Promise<WarmRunResult>;
  /** Keeps `count` generic instances of an image started ahead of demand (refilled as they are taken). */
  prewarm?(spec: PrewarmSpec): Promise<void>;
  /**
   * Proves the sandbox can start runs now (the Docker engine answers); throws a
   * NanoGridError saying what is wrong. Shown by `GET /system`. Absent: nothing
   * outside the process to lose.
   */
  check?(): Promise<void>;
  /**
   * How a run reaches a URL of a service on the worker's host (a package index
   * on 127.0.0.1): a container rewrites loopback hosts to the Docker host's alias.
   * @default the URL unchanged
   */
  hostUrl?(url: string): string;
  /** Most warm instances this worker keeps (the autoscaler raises it with local concurrency). */
  setWarmCapacity?(instances: number): void;
  /**
   * Removes what workers that crashed left behind (containers, cgroups, pipe
   * directories); a worker calls it once at start-up. Returns how many runs were removed.
   */
  cleanupOrphans?(): Promise<number>;
  close?(): Promise<void>;
}

/** What a runtime needs to know about one function to start it. */
export interface RuntimeFunctionInfo {
  /** Runtime id as given at upload (`python3.9`). */
  runtime: string;
  /** `module.function`. */
  handler: string;
  /** Source file holding the handler, relative to the code root. */
  entryFile: string;
}

/** A compile step run once per code version (C++, Go). */
export interface RuntimeBuildStep {
  /** Image of the build container. @default the runtime's `image` */
  image?: string;
  /**
   * Command run in the source directory; it writes its artifacts to
   * `$OUTPUT_DIR`, which becomes the code directory of every run.
   */
  command(fn: RuntimeFunctionInfo): string[];
  /** @default 120_000 */
  timeoutMs?: number;
  /** @default 1024 */
  memoryMb?: number;
  /**
   * Files written into the source directory before the build (path → content),
   * e.g. the exec server compiled beside the program to serve it warm.
   */
  files?: Readonly<Record<string, string>>;
}

/** What a runtime's dependency step installs for one manifest (see RuntimeDependencyStep.plan). */
export interface DependencyInstall {
  /**
   * Command run in a directory holding only the manifest, the lock files and
   * `files`; it leaves the installed tree at `$OUTPUT_DIR/<target>`.
   */
  command: string[];
  /** Environment of the install. */
  env: Record<string, string>;
  /** What besides the files decides the result (index, flags, image): hashed into the cache key. */
  fingerprint: string;
  /** Packages the manifest names (for messages). */
  packages: string[];
  /** Extra files of the install directory (a CA bundle); not part of the cache key. */
  files?: Record<string, string>;
}

/** What a dependency step's plan is given. */
export interface DependencyPlanInput {
  /** The manifest's text (`requirements.txt`, `package.json`). */
  manifest: string;
  /** Lock files of the upload that are present (name → text). */
  locks: Record<string, string>;
  /**
   * How a URL of a service on the worker's host (a private index on
   * 127.0.0.1) is reached from inside the sandbox: unchanged in the process
   * sandbox, `host.docker.internal` in a container.
   */
  hostUrl(url: string): string;
}

/**
 * Installs the packages a function's manifest names (Python's
 * `requirements.txt`, Node's `package.json`), as part of the build: once per
 * manifest + lock files (the result is cached by their hash and shared by every
 * code version that has the same ones), in the sandbox, with the network
 * allowed for the install only. A failure refuses the deploy with BUILD_FAILED
 * and the installer's output.
 */
export interface RuntimeDependencyStep {
  /** File at the code root that asks for an install. */
  manifest: string;
  /** Files at the code root that pin the result (lock files): hashed with the manifest and given to the installer. */
  lockFiles?: readonly string[];
  /** Folder of the code directory the installed packages land in (`node_modules`). */
  target: string;
  /**
   * A top-level entry of the upload matching it means the upload carries its
   * packages already (vendored): nothing is installed.
   */
  vendored?: RegExp;
  /**
   * Reads the manifest: what to install, or null when it names nothing.
   * Content that is refused (an option line, a URL) throws BUILD_FAILED naming it.
   */
  plan(input: DependencyPlanInput): DependencyInstall | null;
  /** Image of the install container. @default the runtime's `image` */
  image?: string;
  /** @default 300_000 */
  timeoutMs?: number;
  /** @default 1024 */
  memoryMb?: number;
  /** Bytes the installed tree may take on disk. @default 512 MiB */
  maxBytes?: number;
  /**
   * Install even when the sandbox does not isolate (the process sandbox
   * without bubblewrap): the installer then runs as a plain host process.
   * @default false
   */
  allowUnisolated?: boolean;
}

/**
 * A language runtime: which ids it serves, the image it runs in, the optional
 * build step, the entry command and the bootstrap files put beside the code.
 */
export interface RuntimePlugin {
  readonly name: string;
  /** Runtime ids it accepts: exact strings or patterns (`python`, /^python3(\.\d+)?$/). */
  readonly runtimes: readonly (string | RegExp)[];
  /** Source file extensions, with the dot (`.py`). The first one is the main one. */
  readonly extensions: readonly string[];
  /** Container image of runs. */
  readonly image: string;
  /** Handler used when the upload names none. */
  readonly defaultHandler: string;
  /**
   * False for programs (C++, Go): they have no handler, so any value is
   * accepted at upload and ignored. @default true
   */
  readonly takesHandler?: boolean;
  /**
   * Candidate files of a handler, relative to the code root, best first.
   * @default the module part with its dots as folders (`pkg.mod.fn` → `pkg/mod.py`), each extension
   */
  entryFiles?(handler: string): string[];
  /** Files written beside the user's code (file name → content): the shim that loads the handler. */
  readonly bootstrap: Readonly<Record<string, string>>;
  /**
   * `envelope`: the bootstrap prints one `RESULT_MARKER` line with `{ok, result | error}`;
   * `stdout`: the program's whole stdout is the result (JSON when it parses).
   */
  readonly protocol: 'envelope' | 'stdout';
  build?: RuntimeBuildStep;
  /** Packages installed from a manifest of the upload at deploy. */
  dependencies?: RuntimeDependencyStep;
  /** Environment of every run, under the function's own (`PYTHONPATH` of the dependency folder). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Warm server: started once per instance, loads the function once and serves
   * one invocation per stdin line (see runtime-python's serve.py for the
   * protocol; a server ends each call's stderr with `STDERR_END`, or the host
   * waits a second for it, unless its META says how much of its stderr pipe the
   * host has not read: see WarmStderr). Compiled runtimes serve through an exec server that starts the
   * program per invocation inside the warm instance.
   */
  serve?: {
    command(fn: RuntimeFunctionInfo): string[];
    /**
     * Generic starter of a prewarmed instance: started before any code is there,
     * it reads one line `{"env": {...}}` (the function's fixed environment, code
     * now in the working directory) and then becomes the warm server.
     */
    prewarm?: string[];
  };
  /**
   * Command started in the code directory. It gets the event's JSON on stdin,
   * and in `PAYLOAD` too when it is at most 64 KiB (`PAYLOAD_ENV_MAX_BYTES`).
   */
  entry(fn: RuntimeFunctionInfo): string[];
}

/** Prefix of the line a bootstrap prints with its result envelope. */
export const RESULT_MARKER = '\u001eNANOGRID_RESULT ';

/** Prefix of the line a warm server prints before each result: `{ logs, outputs }`. */
export const META_MARKER = '\u001eNANOGRID_META ';

/**
 * Prefix of a line a warm server prints while a call runs: a JSON string, a
 * chunk of what the handler printed to stdout (live logs). JSON keeps the
 * chunk on one line and escapes every control character, so a function that
 * prints a marker itself cannot forge a frame. Ignored between calls.
 */
export const LOG_MARKER = '\u001eNANOGRID_LOG ';

/** What a warm server writes to stderr after each call: that call's stderr is complete. */
export const STDERR_END = '\u001eNANOGRID_STDERR_END\n';

/**
 * Failures a bootstrap reports with an engine code rather than as the
 * function's own error: the handler's module did not load, or it has no such handler.
 */
export type BootstrapErrorCode = 'IMPORT_ERROR' | 'HANDLER_NOT_FOUND';

/** The envelope a bootstrap prints after `RESULT_MARKER`. */
export type ResultEnvelope =
  | { ok: true; result: unknown }
  | { ok: false; error: { type: string; message: string; trace?: string; code?: BootstrapErrorCode } };

export function runtimeMatches(plugin: RuntimePlugin, runtime: string): boolean {
  return plugin.runtimes.some((r) => (typeof r === 'string' ? r === runtime : r.test(runtime)));
}

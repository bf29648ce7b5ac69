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
  /** Files written beside the user's code (file name → content): the shim that loads the handler. */
  readonly bootstrap: Readonly<Record<string, string>>;
  /**
   * `envelope`: the bootstrap prints one `RESULT_MARKER` line with `{ok, result | error}`;
   * `stdout`: the program's whole stdout is the result (JSON when it parses).
   */
  readonly protocol: 'envelope' | 'stdout';
  /** Whether the run gets the event JSON on stdin. */
  readonly stdinPayload?: boolean;
  build?: RuntimeBuildStep;
  /**
   * Warm server: started once per instance, loads the function once and serves
   * one invocation per stdin line (see runtime-python's serve.py for the
   * protocol; a server ends each call's stderr with `STDERR_END`, or the host
   * waits a second for it). Compiled runtimes serve through an exec server that starts the
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
  /** Command started in the code directory. */
  entry(fn: RuntimeFunctionInfo): string[];
}

/** Prefix of the line a bootstrap prints with its result envelope. */
export const RESULT_MARKER = '\u001eNANOGRID_RESULT ';

/** Prefix of the line a warm server prints before each result: `{ logs, outputs }`. */
export const META_MARKER = '\u001eNANOGRID_META ';

/** What a warm server writes to stderr after each call: that call's stderr is complete. */
export const STDERR_END = '\u001eNANOGRID_STDERR_END\n';

/** The envelope a bootstrap prints after `RESULT_MARKER`. */
export type ResultEnvelope =
  | { ok: true; result: unknown }
  | { ok: false; error: { type: string; message: string; trace?: string } };

export function runtimeMatches(plugin: RuntimePlugin, runtime: string): boolean {
  return plugin.runtimes.some((r) => (typeof r === 'string' ? r === runtime : r.test(runtime)));
}

import { readFileSync } from 'node:fs';
import { type RuntimePlugin, shellQuote } from '@nanogrid/core';

/** The exec server (bootstrap/exec-serve.go), built beside the program: it serves warm instances. */
export const GO_EXEC_SERVE = '__nanogrid_exec_serve';
/** Its own folder, so the function's package (`.`) never sees its `main`. */
const EXEC_SERVE_SRC = 'nanogrid-exec-serve/exec-serve.go';
/** Read once at import (an immutable string, shared by every plugin object). */
const EXEC_SERVE_SOURCE = readFileSync(new URL('../bootstrap/exec-serve.go', import.meta.url), 'utf8');

export interface GoRuntimeOptions {
  /**
   * Image of builds and runs in the Docker sandbox (Debian bookworm's Go 1.19,
   * built offline by `scripts/build-images.sh`). The process sandbox uses the host's `go`.
   * @default 'nanogrid/go:1.19'
   */
  image?: string;
  /** The go command, looked up on PATH inside the sandbox. @default 'go' */
  go?: string;
  /** Extra `go build` flags. @default ['-trimpath'] */
  flags?: readonly string[];
  /** Seconds a build may take. @default 180 */
  buildTimeoutSec?: number;
  /**
   * Runtime ids this plugin serves, replacing the defaults.
   * @default ['go', 'golang', /^go1(\.\d+)*(\.x)?$/]
   */
  runtimes?: readonly (string | RegExp)[];
}

export const GO_RUNTIME_IDS: readonly (string | RegExp)[] = ['go', 'golang', /^go1(\.\d+)*(\.x)?$/];

/**
 * Go functions: `package main` reading the event as JSON on stdin and printing
 * its result on stdout. Built once per code version at deploy with no network
 * and no module downloads (GOPROXY=off, GOFLAGS=-mod=mod for a go.mod of
 * standard-library imports; GOPATH mode when there is none); the build cache
 * lives in the build's temp dir. Syntax errors refuse the deploy with BUILD_FAILED.
 */
export function goRuntime(opts: GoRuntimeOptions = {}): RuntimePlugin {
  const go = shellQuote(opts.go ?? 'go');
  const flags = (opts.flags ?? ['-trimpath']).map(shellQuote).join(' ');
  return {
    name: 'go',
    runtimes: opts.runtimes ?? GO_RUNTIME_IDS,
    extensions: ['.go'],
    image: opts.image ?? 'nanogrid/go:1.19',
    defaultHandler: 'main.main',
    // A program has no handler: any value is accepted at upload and ignored.
    takesHandler: false,
    bootstrap: {},
    protocol: 'stdout',
    build: {
      command: () => [
        'sh',
        '-c',
        'set -e; t="${TMPDIR:-/tmp}"; export GOCACHE="$t/go-cache" GOPATH="$t/go-path" GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0; ' +
          'if [ -f go.mod ]; then export GOFLAGS=-mod=mod; else export GO111MODULE=off; fi; ' +
          `${go} build ${flags} -o "$OUTPUT_DIR/main" .; ` +
          `${go} build ${flags} -o "$OUTPUT_DIR/${GO_EXEC_SERVE}" ./${EXEC_SERVE_SRC}`,
      ],
      files: { [EXEC_SERVE_SRC]: EXEC_SERVE_SOURCE },
      timeoutMs: (opts.buildTimeoutSec ?? 180) * 1000,
      memoryMb: 1024,
    },
    // Warm: the container stays, the program starts per invocation (it keeps no state between calls).
    serve: { command: () => [`./${GO_EXEC_SERVE}`, './main'] },
    entry: () => ['./main'],
  };
}

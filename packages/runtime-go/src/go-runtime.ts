import { type RuntimePlugin, shellQuote } from '@nanogrid/core';

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
    bootstrap: {},
    protocol: 'stdout',
    stdinPayload: true,
    build: {
      command: () => [
        'sh',
        '-c',
        'set -e; t="${TMPDIR:-/tmp}"; export GOCACHE="$t/go-cache" GOPATH="$t/go-path" GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0; ' +
          'if [ -f go.mod ]; then export GOFLAGS=-mod=mod; else export GO111MODULE=off; fi; ' +
          `${go} build ${flags} -o "$OUTPUT_DIR/main" .`,
      ],
      timeoutMs: (opts.buildTimeoutSec ?? 180) * 1000,
      memoryMb: 1024,
    },
    entry: () => ['./main'],
  };
}

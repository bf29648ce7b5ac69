import { readFileSync } from 'node:fs';
import { type RuntimePlugin, shellQuote } from '@nanogrid/core';

/** The exec server (bootstrap/exec-serve.c), compiled beside the program: it serves warm instances. */
export const CPP_EXEC_SERVE = '__nanogrid_exec_serve';
/** Read once at import (an immutable string, shared by every plugin object). */
const EXEC_SERVE_SOURCE = readFileSync(new URL('../bootstrap/exec-serve.c', import.meta.url), 'utf8');

export interface CppRuntimeOptions {
  /**
   * Image of builds and runs in the Docker sandbox (Debian bookworm's g++ 12,
   * built offline by `scripts/build-images.sh`). The process sandbox uses the host's compiler.
   * @default 'nanogrid/cpp:12'
   */
  image?: string;
  /** Compiler looked up on PATH inside the sandbox. @default 'g++' */
  compiler?: string;
  /** Flags of every build, before the sources. @default ['-O2', '-std=c++17', '-pipe'] */
  flags?: readonly string[];
  /** C compiler of the exec server (warm instances). @default 'gcc' */
  cc?: string;
  /** Seconds a build may take. @default 120 */
  buildTimeoutSec?: number;
  /**
   * Runtime ids this plugin serves, replacing the defaults.
   * @default ['cpp', 'c++', 'cxx', 'gcc', /^cpp(1[1-9]|2[0-9])$/, /^g\+\+\d*$/]
   */
  runtimes?: readonly (string | RegExp)[];
}

export const CPP_RUNTIME_IDS: readonly (string | RegExp)[] = [
  'cpp',
  'c++',
  'cxx',
  'gcc',
  /^cpp(1[1-9]|2[0-9])$/,
  /^g\+\+\d*$/,
];

/**
 * C++ functions: a program that reads the event as JSON on stdin and prints
 * its result on stdout. Compiled once per code version at deploy (every
 * `.cpp/.cc/.cxx` file of the upload into one binary), with no network;
 * a compile error refuses the deploy with BUILD_FAILED and g++'s output.
 */
export function cppRuntime(opts: CppRuntimeOptions = {}): RuntimePlugin {
  const compiler = opts.compiler ?? 'g++';
  const flags = (opts.flags ?? ['-O2', '-std=c++17', '-pipe']).map(shellQuote).join(' ');
  return {
    name: 'cpp',
    runtimes: opts.runtimes ?? CPP_RUNTIME_IDS,
    extensions: ['.cpp', '.cc', '.cxx'],
    image: opts.image ?? 'nanogrid/cpp:12',
    defaultHandler: 'main.main',
    // A program has no handler: any value is accepted at upload and ignored.
    takesHandler: false,
    bootstrap: {},
    protocol: 'stdout',
    build: {
      // Every source below the code root, so a zip may spread the program over files and folders.
      command: () => [
        'sh',
        '-c',
        `set -e; srcs=$(find . -type f \\( -name '*.cpp' -o -name '*.cc' -o -name '*.cxx' \\) | sort); ` +
          `${shellQuote(compiler)} ${flags} -I. -o "$OUTPUT_DIR/main" $srcs; ` +
          `${shellQuote(opts.cc ?? 'gcc')} -O2 -o "$OUTPUT_DIR/${CPP_EXEC_SERVE}" ${CPP_EXEC_SERVE}.c`,
      ],
      files: { [`${CPP_EXEC_SERVE}.c`]: EXEC_SERVE_SOURCE },
      timeoutMs: (opts.buildTimeoutSec ?? 120) * 1000,
      memoryMb: 1024,
    },
    // Warm: the container stays, the program starts per invocation (it keeps no state between calls).
    serve: { command: () => [`./${CPP_EXEC_SERVE}`, './main'] },
    entry: () => ['./main'],
  };
}

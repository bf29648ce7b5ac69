import type { RuntimePlugin } from '@nanogrid/core';
import { PYTHON_BOOTSTRAP_FILE, PYTHON_SERVE_FILE, readPythonBootstrap, readPythonServe } from './bootstrap-source.js';

export interface PythonRuntimeOptions {
  /**
   * Plugin name, recorded on each function deployed with it. Give every
   * plugin of a host its own (two Python plugins with different images:
   * `python` and `python-fat`), so a function keeps the plugin it was deployed with.
   * @default 'python'
   */
  name?: string;
  /**
   * Image of runs in the Docker sandbox. The default is built offline from
   * Debian bookworm's `python3` (3.11) by `scripts/build-images.sh`;
   * `nanogrid/python-fat:3` adds numpy, pandas, pillow and requests. The
   * process sandbox ignores it and uses the host's interpreter.
   * @default 'nanogrid/python:3'
   */
  image?: string;
  /**
   * Interpreter the entry command starts, looked up on PATH inside the sandbox
   * (`python3.11`, `/opt/venv/bin/python` …).
   * @default 'python3'
   */
  python?: string;
  /**
   * Runtime ids this plugin serves, replacing the defaults.
   * @default ['python', 'python3', /^python3\.\d+$/]
   */
  runtimes?: readonly (string | RegExp)[];
}

export const PYTHON_RUNTIME_IDS: readonly (string | RegExp)[] = ['python', 'python3', /^python3\.\d+$/];

/** Read once at import (an immutable string, shared by every plugin object). */
const BOOTSTRAP_SOURCE = readPythonBootstrap();
const SERVE_SOURCE = readPythonServe();

/** Reads the init line from the same binary buffer the server reads requests from, so nothing is lost. */
const PREWARM_STARTER = [
  // The bootstrap's and the server's standard-library imports happen before any function is known.
  'import ast, asyncio, atexit, gc, importlib.util, inspect, io, json, os, runpy, shutil, sys, tempfile, time, traceback',
  'init = json.loads(sys.stdin.buffer.readline())',
  'os.environ.update(init.get("env") or {})',
  'sys.path.insert(0, os.getcwd())',
  `sys.argv = ["${PYTHON_SERVE_FILE}"]`,
  `runpy.run_path("${PYTHON_SERVE_FILE}", run_name="__main__")`,
].join('\n');

/**
 * Python functions: `handler(event, context)` in a `.py` file (async allowed), or a
 * script reading `PAYLOAD` and printing its result. Results come back as one
 * envelope line after `RESULT_MARKER`; user prints become logs.
 */
export function pythonRuntime(opts: PythonRuntimeOptions = {}): RuntimePlugin {
  const python = opts.python ?? 'python3';
  return {
    name: opts.name ?? 'python',
    runtimes: opts.runtimes ?? PYTHON_RUNTIME_IDS,
    extensions: ['.py'],
    image: opts.image ?? 'nanogrid/python:3',
    defaultHandler: 'main.handler',
    bootstrap: { [PYTHON_BOOTSTRAP_FILE]: BOOTSTRAP_SOURCE, [PYTHON_SERVE_FILE]: SERVE_SOURCE },
    protocol: 'envelope',
    // -u: unbuffered, so logs written before a crash or a kill are not lost.
    entry: () => [python, '-u', PYTHON_BOOTSTRAP_FILE],
    // Warm instances: the function is loaded once and served one request line at a time.
    serve: {
      command: () => [python, '-u', PYTHON_SERVE_FILE],
      // A prewarmed interpreter: waits for the function's env (its code is copied in meanwhile), then runs the server.
      prewarm: [python, '-u', '-c', PREWARM_STARTER],
    },
  };
}

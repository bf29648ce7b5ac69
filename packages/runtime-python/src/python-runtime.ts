import type { RuntimePlugin } from '@nanogrid/core';
import { PYTHON_DEPS_DIR, type PythonDependencyOptions, pythonDependencies } from './python-dependencies.js';
import {
  PYTHON_BOOTSTRAP_FILE,
  PYTHON_LAMBDA_FILE,
  PYTHON_SERVE_FILE,
  PYTHON_WARM_FILE,
  readPythonBootstrap,
  readPythonLambda,
  readPythonServe,
  readPythonWarm,
} from './bootstrap-source.js';

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
  /**
   * Packages of a `requirements.txt` at the code root, installed at deploy
   * with pip into the function's `__nanogrid_deps` folder (on `sys.path`,
   * after the code root); `false` installs nothing (the file is left as is).
   * @default {} (the host's PIP_INDEX_URL / PIP_EXTRA_INDEX_URL, wheels only)
   */
  dependencies?: PythonDependencyOptions | false;
}

export const PYTHON_RUNTIME_IDS: readonly (string | RegExp)[] = ['python', 'python3', /^python3\.\d+$/];

/** Read once at import (an immutable string, shared by every plugin object). */
const BOOTSTRAP_SOURCE = readPythonBootstrap();
const SERVE_SOURCE = readPythonServe();
const WARM_SOURCE = readPythonWarm();
const LAMBDA_SOURCE = readPythonLambda();

/**
 * Loads the runtime and sets the server up (Prepared: protocol fds, live-log thread, scratch dirs) before any function
 * is known, then waits for the init line. Without the server's files (code sent in later) it reads the init line
 * byte by byte from fd 0, so every later byte is left for the server.
 */
const PREWARM_STARTER = [
  // The bootstrap's and the server's standard-library imports happen before any function is known.
  'import ast, asyncio, atexit, gc, importlib, importlib.util, inspect, io, json, logging, os, runpy, shutil, sys, tempfile, time, traceback',
  // Where the sandbox put the runtime's files in the code directory before the start, the server loads now too.
  'try:',
  `    import ${PYTHON_SERVE_FILE.replace(/\.py$/, '')} as serve`,
  'except ImportError:',
  '    serve = None',
  'if serve is not None:',
  // The server's reader keeps what follows the init line (the first call's request) for the server.
  '    prepared = serve.Prepared()',
  '    line = prepared.requests.readline()',
  'else:',
  // Byte by byte, unbuffered: the server reads later lines from fd 0 itself, so nothing may sit in a buffer here.
  '    line = bytearray()',
  '    while not line.endswith(b"\\n"):',
  '        byte = os.read(0, 1)',
  '        if not byte:',
  '            break',
  '        line += byte',
  'init = json.loads(line)',
  'os.environ.update(init.get("env") or {})',
  // The function's files appeared after the import system listed the directory.
  'importlib.invalidate_caches()',
  'sys.path.insert(0, os.getcwd())',
  // PYTHONPATH came with the init line, after the interpreter read it: its folders (the dependencies) go on sys.path now.
  'sys.path[1:1] = [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]',
  `sys.argv = ["${PYTHON_SERVE_FILE}"]`,
  'if serve is None:',
  `    runpy.run_path("${PYTHON_SERVE_FILE}", run_name="__main__")`,
  'else:',
  '    serve.main(prepared)',
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
    bootstrap: {
      [PYTHON_BOOTSTRAP_FILE]: BOOTSTRAP_SOURCE,
      [PYTHON_LAMBDA_FILE]: LAMBDA_SOURCE,
      [PYTHON_SERVE_FILE]: SERVE_SOURCE,
      [PYTHON_WARM_FILE]: WARM_SOURCE,
    },
    protocol: 'envelope',
    ...(opts.dependencies === false ? {} : { dependencies: pythonDependencies(python, opts.dependencies) }),
    // Relative: the interpreter makes it absolute from the code directory it starts in, whatever the sandbox calls it.
    env: { PYTHONPATH: PYTHON_DEPS_DIR },
    // -u: unbuffered, so logs written before a crash or a kill are not lost.
    entry: () => [python, '-u', PYTHON_BOOTSTRAP_FILE],
    // Warm instances: the function is loaded once and served one request line at a time.
    serve: {
      command: () => [python, '-u', PYTHON_SERVE_FILE],
      // A prewarmed interpreter (the server loaded when its files are there): waits for the function's env (its
      // code is put in meanwhile), then runs the server.
      prewarm: [python, '-u', '-c', PREWARM_STARTER],
    },
  };
}

import type { RuntimePlugin } from '@nanogrid/core';
import { type NodeDependencyOptions, nodeDependencies } from './node-dependencies.js';
import {
  NODE_BOOTSTRAP_FILE,
  NODE_LAMBDA_FILE,
  NODE_SERVE_FILE,
  NODE_WARM_FILE,
  readNodeBootstrap,
  readNodeLambda,
  readNodeServe,
  readNodeWarm,
} from './bootstrap-source.js';

export interface NodeRuntimeOptions {
  /**
   * Image of runs in the Docker sandbox. The default is built offline from
   * Debian bookworm's `nodejs` (18.20) by `scripts/build-images.sh`; the process
   * sandbox ignores it and uses the host's `node`. On Node before 20.19 a `.js`
   * file written with import/export still loads (the bootstrap retries it as
   * an ES module), with Node's "To load an ES module" warning in the logs.
   * @default 'nanogrid/node:18'
   */
  image?: string;
  /**
   * Node binary the entry command starts, looked up on PATH inside the sandbox.
   * @default 'node'
   */
  node?: string;
  /**
   * Runtime ids this plugin serves, replacing the defaults.
   * @default ['node', 'nodejs', /^nodejs\d+(\.x)?$/, /^node\d+$/]
   */
  runtimes?: readonly (string | RegExp)[];
  /**
   * Packages of a `package.json` at the code root (`dependencies`), installed
   * at deploy with npm into the function's `node_modules` (`npm ci` when a
   * lock file comes with it); `false` installs nothing.
   * @default {} (the host's npm registry, no install scripts)
   */
  dependencies?: NodeDependencyOptions | false;
}

export const NODE_RUNTIME_IDS: readonly (string | RegExp)[] = ['node', 'nodejs', /^nodejs\d+(\.x)?$/, /^node\d+$/];

/** Read once at import (an immutable string, shared by every plugin object). */
const BOOTSTRAP_SOURCE = readNodeBootstrap();
const SERVE_SOURCE = readNodeServe();
const WARM_SOURCE = readNodeWarm();
const LAMBDA_SOURCE = readNodeLambda();

/**
 * Generic starter of a prewarmed instance: Node is up before any function is
 * known. When the runtime's files are already in the code directory it
 * imports the server at once, which reads the init line itself; else it reads
 * the one init line byte by byte (so the server's own reader gets every later
 * byte), takes the function's env, then imports the server.
 */
const PREWARM_STARTER = [
  "import { readSync } from 'node:fs';",
  "import { resolve } from 'node:path';",
  "import { pathToFileURL } from 'node:url';",
  "import 'node:child_process';",
  "import 'node:readline';",
  "import 'node:util';",
  "import { existsSync } from 'node:fs';",
  // Where the sandbox put the runtime's files in the code directory before the start, the server loads now and
  // reads the init line itself (then loads the function).
  `if (existsSync('${NODE_SERVE_FILE}') && existsSync('${NODE_LAMBDA_FILE}')) {`,
  '  globalThis.__nanogridPrewarmed = true;',
  `  await import(pathToFileURL(resolve('${NODE_SERVE_FILE}')).href);`,
  '} else {',
  '  const bytes = [];',
  '  const one = Buffer.alloc(1);',
  '  for (;;) {',
  '    let n;',
  "    try { n = readSync(0, one, 0, 1, null); } catch (e) { if (e.code === 'EAGAIN') continue; throw e; }",
  '    if (n === 0 || one[0] === 10) break;',
  '    bytes.push(one[0]);',
  '  }',
  "  Object.assign(process.env, JSON.parse(Buffer.from(bytes).toString('utf8')).env ?? {});",
  `  await import(pathToFileURL(resolve('${NODE_SERVE_FILE}')).href);`,
  '}',
].join('\n');

/**
 * Lambda's rule for Node: the module is the handler up to the first dot after
 * its last `/` (`src/index.handler` → `src/index.js`, `.mjs`, `.cjs`); the rest names the export.
 */
export function nodeHandlerFiles(handler: string): string[] {
  const slash = handler.lastIndexOf('/') + 1;
  const dot = handler.indexOf('.', slash);
  if (dot <= slash) return [];
  return ['.js', '.mjs', '.cjs'].map((ext) => `${handler.slice(0, dot)}${ext}`);
}

/**
 * Node.js functions: an exported `handler(event, context)` (ESM or CommonJS,
 * async or Lambda-style callback), or a script reading `PAYLOAD` and writing its
 * result to stdout. Results come back as one envelope line after `RESULT_MARKER`.
 */
export function nodeRuntime(opts: NodeRuntimeOptions = {}): RuntimePlugin {
  const node = opts.node ?? 'node';
  return {
    name: 'node',
    runtimes: opts.runtimes ?? NODE_RUNTIME_IDS,
    extensions: ['.js', '.mjs', '.cjs'],
    image: opts.image ?? 'nanogrid/node:18',
    defaultHandler: 'main.handler',
    bootstrap: {
      [NODE_BOOTSTRAP_FILE]: BOOTSTRAP_SOURCE,
      [NODE_LAMBDA_FILE]: LAMBDA_SOURCE,
      [NODE_SERVE_FILE]: SERVE_SOURCE,
      [NODE_WARM_FILE]: WARM_SOURCE,
    },
    entryFiles: nodeHandlerFiles,
    protocol: 'envelope',
    ...(opts.dependencies === false ? {} : { dependencies: nodeDependencies(opts.dependencies) }),
    entry: () => [node, NODE_BOOTSTRAP_FILE],
    // Warm instances: the handler is imported once and called once per request line.
    serve: { command: () => [node, NODE_SERVE_FILE], prewarm: [node, '--input-type=module', '-e', PREWARM_STARTER] },
  };
}

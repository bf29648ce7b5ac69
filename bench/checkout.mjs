// Loading another checkout's built packages, for the benches that run this checkout against a baseline one in
// fresh child processes.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The smallest handler per runtime: [file name, source]. */
export const HELLO_FILES = {
  python: ['main.py', 'def handler(event, context):\n    return {"ok": True}\n'],
  node: ['main.mjs', 'export async function handler(event) { return { ok: true }; }\n'],
};

/** An importer of the checkout's packages (their dist/index.js): `load('core')`. */
export const checkoutLoader = (root) => (pkg) =>
  import(pathToFileURL(join(root, 'packages', pkg, 'dist', 'index.js')).href);

/** The checkout's loader, core module and runtime plugin (`python` or `node`). */
export async function checkoutRuntime(root, runtimeKind) {
  const load = checkoutLoader(root);
  const core = await load('core');
  const runtime =
    runtimeKind === 'python'
      ? (await load('runtime-python')).pythonRuntime()
      : (await load('runtime-node')).nodeRuntime();
  return { load, core, runtime };
}

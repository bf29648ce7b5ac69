// Loading another checkout's built packages, for the benches that run this checkout against a baseline one in
// fresh child processes.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

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

/**
 * Runs `node <script> --child <root> ...args` for the baseline and this checkout, `rounds` times in turn, each in a
 * fresh process; returns the parsed last stdout line of each run, per side ('baseline', 'this checkout').
 */
export async function alternateCheckouts(script, baseline, rounds, args) {
  const checkouts = { baseline: resolve(baseline), 'this checkout': resolve(new URL('..', import.meta.url).pathname) };
  const seen = {};
  for (let r = 0; r < rounds; r++)
    for (const [label, root] of Object.entries(checkouts)) {
      const { stdout } = await run('node', [script, '--child', root, ...args], { maxBuffer: 1 << 20 });
      (seen[label] ??= []).push(JSON.parse(stdout.trim().split('\n').at(-1)));
    }
  return seen;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/**
 * Prints what `alternateCheckouts` returned: a header, then per side the median over the rounds of each column
 * (`{ key, title, digits }`, cells `width` wide) and a line with each round's `roundKeys` (named `roundsLabel`).
 */
export function printSides(seen, columns, { width, roundKeys, roundsLabel }) {
  console.log(`${'checkout'.padEnd(14)} ${columns.map((c) => c.title.padStart(width)).join(' ')}`);
  for (const [label, rows] of Object.entries(seen)) {
    const cells = columns.map((c) =>
      median(rows.map((s) => s[c.key]))
        .toFixed(c.digits ?? 0)
        .padStart(width),
    );
    console.log(`${label.padEnd(14)} ${cells.join(' ')}`);
    const perRound = rows.map((s) => roundKeys.map((k) => s[k].toFixed(0)).join('/'));
    console.log(`${''.padEnd(14)} rounds: ${perRound.join(', ')} (${roundsLabel})`);
  }
}

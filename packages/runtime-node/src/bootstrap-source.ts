import { readFileSync } from 'node:fs';

/** File name the bootstrap gets beside the user's code (the entry command runs it). */
export const NODE_BOOTSTRAP_FILE = '__nanogrid_bootstrap.mjs';

/**
 * The bootstrap is a real .mjs file shipped in the package's `bootstrap/`
 * folder. `../bootstrap/` resolves from both `src/` and `dist/`.
 */
export function readNodeBootstrap(): string {
  return readFileSync(new URL('../bootstrap/bootstrap.mjs', import.meta.url), 'utf8');
}

/** File name of the warm server beside the code. */
export const NODE_SERVE_FILE = '__nanogrid_serve.mjs';

export function readNodeServe(): string {
  return readFileSync(new URL('../bootstrap/serve.mjs', import.meta.url), 'utf8');
}

/** File name of the Lambda layer beside the code: handler names, loading, context, calling (both of the above import it). */
export const NODE_LAMBDA_FILE = '__nanogrid_lambda.mjs';

export function readNodeLambda(): string {
  return readFileSync(new URL('../bootstrap/lambda.mjs', import.meta.url), 'utf8');
}

/** File name of the warm server's per-call state beside the code: its scratch directories, each call's env names. */
export const NODE_WARM_FILE = '__nanogrid_warm.mjs';

export function readNodeWarm(): string {
  return readFileSync(new URL('../bootstrap/warm.mjs', import.meta.url), 'utf8');
}

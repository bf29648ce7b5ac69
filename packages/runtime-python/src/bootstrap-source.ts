import { readFileSync } from 'node:fs';

/** File name the bootstrap gets beside the user's code (the entry command runs it). */
export const PYTHON_BOOTSTRAP_FILE = '__nanogrid_bootstrap.py';

/**
 * The bootstrap is a real .py file (linted and run as Python, shipped in the
 * package's `bootstrap/` folder). `../bootstrap/` resolves from both `src/` and `dist/`.
 */
export function readPythonBootstrap(): string {
  return readFileSync(new URL('../bootstrap/bootstrap.py', import.meta.url), 'utf8');
}

/** File name of the warm server beside the code (it imports the bootstrap's helpers). */
export const PYTHON_SERVE_FILE = '__nanogrid_serve.py';

export function readPythonServe(): string {
  return readFileSync(new URL('../bootstrap/serve.py', import.meta.url), 'utf8');
}

/** File name of the Lambda layer beside the code: context, logging, loading and calling the handler (both of the above import it). */
export const PYTHON_LAMBDA_FILE = '__nanogrid_lambda.py';

export function readPythonLambda(): string {
  return readFileSync(new URL('../bootstrap/lambda_runtime.py', import.meta.url), 'utf8');
}

/** File name of the warm server's per-call state beside the code: its scratch directories, each call's env names. */
export const PYTHON_WARM_FILE = '__nanogrid_warm.py';

export function readPythonWarm(): string {
  return readFileSync(new URL('../bootstrap/warm.py', import.meta.url), 'utf8');
}

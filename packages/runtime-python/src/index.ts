export * from './python-runtime.js';
export { PYTHON_BOOTSTRAP_FILE, PYTHON_LAMBDA_FILE, PYTHON_SERVE_FILE, PYTHON_WARM_FILE } from './bootstrap-source.js';
export * from './python-dependencies.js';
export * from './requirements.js';

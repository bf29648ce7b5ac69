export * from './python-runtime.js';
export { PYTHON_BOOTSTRAP_FILE } from './bootstrap-source.js';

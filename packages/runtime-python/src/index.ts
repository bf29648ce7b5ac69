export * from './python-runtime.js';
export { PYTHON_BOOTSTRAP_FILE } from './bootstrap-source.js';
export * from './python-dependencies.js';
export * from './requirements.js';

export * from './node-runtime.js';
export { NODE_BOOTSTRAP_FILE } from './bootstrap-source.js';

export * from './node-runtime.js';
export { NODE_BOOTSTRAP_FILE } from './bootstrap-source.js';
export * from './node-dependencies.js';
export * from './package-manifest.js';

export * from './node-runtime.js';
export { NODE_BOOTSTRAP_FILE, NODE_LAMBDA_FILE, NODE_SERVE_FILE, NODE_WARM_FILE } from './bootstrap-source.js';
export * from './node-dependencies.js';
export * from './package-manifest.js';

export * from './go-runtime.js';

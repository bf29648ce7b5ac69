export * from './cpp-runtime.js';

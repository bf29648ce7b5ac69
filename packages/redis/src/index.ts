export * from './connection.js';
export * from './backend-error.js';
export * from './redis-queue.js';
export * from './redis-results.js';
export * from './redis-rate-limit-store.js';

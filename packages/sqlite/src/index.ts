export * from './sqlite-database.js';
export * from './sqlite-errors.js';
export * from './sqlite-queue.js';
export * from './sqlite-results.js';
export * from './sqlite-rate-limit-store.js';
export * from './sqlite-backend.js';
export type { SqliteSource } from './use-database.js';

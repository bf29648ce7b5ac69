export * from './gcs-storage-options.js';
export * from './gcs-storage.js';
export { gcsError } from './gcs-errors.js';

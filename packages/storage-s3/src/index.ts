export * from './s3-storage-options.js';
export * from './s3-storage.js';
export { s3Error, isS3NotFound } from './s3-errors.js';

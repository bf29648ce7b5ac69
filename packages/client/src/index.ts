export * from './api-types.js';
export * from './client-error.js';
export * from './client.js';
export * from './deploy-form.js';
export * from './event-stream.js';

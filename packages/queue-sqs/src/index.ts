export * from './sqs-queue-options.js';
export * from './sqs-queue.js';
export * from './sqs-heartbeat.js';
export { sqsError } from './sqs-errors.js';
export type { ResolvedQueues } from './sqs-setup.js';

// Conformance suites: one per interface, each taking a factory.
export * from './queue-source-suite.js';
export * from './result-sink-suite.js';
export * from './live-events-suite.js';
export * from './storage-backend-suite.js';
export * from './sandbox-suite.js';
export * from './hostile-cases.js';
export * from './security-table.js';
export { eventually, fixedRecord, receiveUntil, sampleJob, sampleRecord, uniqueId } from './helpers.js';
export * from './test-runtime.js';
export * from './build-engine.js';
export { BUDGET_BYTES } from './budget-cases.js';

// Conformance suites: one per interface, each taking a factory.
export * from './test-runtime.js';

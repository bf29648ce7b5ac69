// Helpers for tests that need a Docker engine (any package's).
export * from './docker-test-env.js';

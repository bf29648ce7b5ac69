// The Docker sandbox: each run in a hardened container, warm instances per function version.
export * from './docker-sandbox.js';
export { detectDocker, type DockerConnectionOptions } from './docker-client.js';
export type { CleanupOrphansOptions } from './docker-orphans.js';

// The Docker sandbox: each run in a hardened container, warm instances per function version.
export * from './docker-sandbox.js';
export { type DockerConnectionOptions, detectDocker, missingImages } from './docker-client.js';
export type { CleanupOrphansOptions } from './docker-orphans.js';

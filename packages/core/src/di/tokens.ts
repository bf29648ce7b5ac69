import type { DependencyContainer } from 'tsyringe';
import type { NanoGridConfig } from '../config.js';
import type { QueueSource } from '../plugins/queue-source.js';
import type { ResultSink } from '../plugins/result-sink.js';
import type { RuntimePlugin } from '../plugins/runtime-plugin.js';
import type { Sandbox } from '../plugins/sandbox.js';
import type { StorageBackend } from '../plugins/storage-backend.js';
import type { EngineOptions } from '../engine/engine-options.js';
import type { Logger } from '../logger.js';

export const STORAGE: unique symbol = Symbol('nanogrid.storage');
export const REPLICAS: unique symbol = Symbol('nanogrid.replicas');
export const QUEUE: unique symbol = Symbol('nanogrid.queue');
export const RESULTS: unique symbol = Symbol('nanogrid.results');
export const SANDBOX: unique symbol = Symbol('nanogrid.sandbox');
export const RUNTIMES: unique symbol = Symbol('nanogrid.runtimes');
export const ENGINE_OPTIONS: unique symbol = Symbol('nanogrid.engineOptions');
export const CONFIG: unique symbol = Symbol('nanogrid.config');
export const LOGGER: unique symbol = Symbol('nanogrid.logger');

/** What each token resolves to. */
export interface Services {
  [STORAGE]: StorageBackend;
  [REPLICAS]: StorageBackend[];
  [QUEUE]: QueueSource;
  [RESULTS]: ResultSink;
  [SANDBOX]: Sandbox;
  [RUNTIMES]: RuntimePlugin[];
  [ENGINE_OPTIONS]: EngineOptions;
  [CONFIG]: NanoGridConfig;
  [LOGGER]: Logger;
}

export type ServiceToken = keyof Services;

/** Typed `container.resolve` for a token. */
export function resolveService<T extends ServiceToken>(container: DependencyContainer, token: T): Services[T] {
  return container.resolve<Services[T]>(token);
}

/** Typed `container.register(token, { useValue })`. */
export function provide<T extends ServiceToken>(container: DependencyContainer, token: T, value: Services[T]): void {
  container.register<Services[T]>(token, { useValue: value });
}

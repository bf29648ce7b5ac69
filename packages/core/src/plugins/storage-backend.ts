import type { Readable } from 'node:stream';

export type StorageBody = Buffer | Uint8Array | string | Readable;

export interface ObjectInfo {
  key: string;
  size: number;
  contentType?: string;
  modified?: Date;
}

export interface PutOptions {
  contentType?: string;
}

export interface UrlOptions {
  /** Seconds the link stays valid. @default 3600 */
  expiresIn?: number;
}

/** Object storage for code, metadata and outputs. Keys are `/`-separated relative paths. */
export interface StorageBackend {
  readonly name: string;
  put(key: string, body: StorageBody, opts?: PutOptions): Promise<void>;
  /** Streams the object; throws NanoGridError `NOT_FOUND` when absent. */
  get(key: string): Promise<Readable>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Objects whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** A link that downloads the object without other credentials (presigned / signed). */
  url(key: string, opts?: UrlOptions): Promise<string>;
  close?(): Promise<void>;
}

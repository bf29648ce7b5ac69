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
  /** Proves at start-up that the backend reaches its service (credentials, bucket); throws a NanoGridError naming the fix. */
  check?(): Promise<void>;
  /**
   * Present on a storage whose links point at this host (the embedded
   * filesystem storage): the host then serves them under `/files/*`, checking
   * each with this. True when `sig` signs `key` until `expires` (unix seconds).
   */
  verifySignedUrl?(key: string, expires: string, sig: string): boolean;
  /** Links made from now on start with `url`: the host calls it once it knows where it listens (unless `http.publicUrl` is set). */
  setPublicUrl?(url: string): void;
  close?(): Promise<void>;
}

import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { buffer } from 'node:stream/consumers';
import { NanoGridError, isNanoGridError } from '../errors.js';
import {
  type FunctionMeta,
  aliasKey,
  claimsPrefix,
  codeKey,
  functionPrefix,
  metaKey,
  versionsPrefix,
} from '../function-meta.js';
import type { StorageBackend } from '../plugins/storage-backend.js';
import type { ZipSource } from '../archive/open-zip.js';

/** An alias: a name that points at one version of a function (`prod` → 3). */
export interface FunctionAlias {
  alias: string;
  version: number;
  updated_at: string;
}

/** What a listing of `functions/{id}/versions/` says. */
export interface VersionScan {
  /** Versions whose meta.json exists, ascending. */
  committed: number[];
  /** Highest version number seen at all (claimed or committed); the next deploy claims one above it. */
  highest: number;
}

const VERSION_KEY_RE = /^functions\/([^/]+)\/versions\/(\d+)\/(meta\.json|claims\/.+|code\.zip)$/;

/**
 * The storage layout of functions, on any StorageBackend:
 *
 *     functions/{id}/versions/{n}/claims/{token}   one per deploy racing for n
 *     functions/{id}/versions/{n}/code.zip
 *     functions/{id}/versions/{n}/meta.json        written last: the version exists
 *     functions/{id}/aliases/{alias}.json          {"alias","version","updated_at"}
 *
 * Nothing lives in one process, so any number of controllers share it. Version
 * numbers are claimed with a protocol that needs only the read-after-write
 * listings every backend here gives (fs, S3, GCS): see `claimVersion`.
 */
export class FunctionStore {
  constructor(private readonly storage: StorageBackend) {}

  async scan(functionId: string): Promise<VersionScan> {
    const committed: number[] = [];
    let highest = 0;
    for (const o of await this.storage.list(versionsPrefix(functionId))) {
      const m = VERSION_KEY_RE.exec(o.key);
      if (!m) continue;
      const n = Number(m[2]);
      highest = Math.max(highest, n);
      if (m[3] === 'meta.json') committed.push(n);
    }
    return { committed: committed.sort((a, b) => a - b), highest };
  }

  /** Every function that has at least one version: id → its versions, ascending. */
  async all(): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    for (const o of await this.storage.list('functions/')) {
      const m = VERSION_KEY_RE.exec(o.key);
      if (m?.[3] !== 'meta.json') continue;
      const list = out.get(m[1] ?? '') ?? [];
      list.push(Number(m[2]));
      out.set(m[1] ?? '', list);
    }
    for (const v of out.values()) v.sort((a, b) => a - b);
    return out;
  }

  async readMeta(functionId: string, version: number): Promise<FunctionMeta | undefined> {
    return this.readJson<FunctionMeta>(metaKey(functionId, version));
  }

  /**
   * Claims the next version number of a function. Each racer writes its own
   * claim under `versions/{n}/claims/` and then lists them: it wins n only when
   * its claim is the only one there. With read-after-write listings at most one
   * racer can see itself alone (whoever lists second sees the first), so two
   * deploys never get the same n; when both see each other both step back and
   * try again above n. A winner's claim stays, so n is never handed out twice
   * (a deploy that fails after its claim leaves a gap in the numbers).
   */
  async claimVersion(functionId: string, attempts = 12): Promise<number> {
    for (let i = 0; i < attempts; i += 1) {
      const n = (await this.scan(functionId)).highest + 1;
      const key = `${claimsPrefix(functionId, n)}${Date.now()}-${randomUUID()}`;
      await this.storage.put(key, '');
      const claims = await this.storage.list(claimsPrefix(functionId, n));
      if (claims.length === 1 && claims[0]?.key === key) return n;
      await this.storage.delete(key);
      await delay(5 + Math.floor(Math.random() * 20 * (i + 1))); // racers step back by different amounts
    }
    throw new NanoGridError('CONFLICT', `too many deploys of function ${functionId} at once; try again`, {
      details: { function_id: functionId },
    });
  }

  /** Stores a claimed version: code first, meta.json last (so it is never half there). */
  async writeVersion(meta: FunctionMeta, zip: ZipSource): Promise<string[]> {
    // An uploaded file is stored as a stream, never read whole.
    const body = Buffer.isBuffer(zip) ? zip : createReadStream(zip);
    await this.storage.put(meta.s3_key, body, { contentType: 'application/zip' });
    const mk = metaKey(meta.function_id, meta.version);
    await this.storage.put(mk, JSON.stringify(meta, null, 2), { contentType: 'application/json' });
    return [meta.s3_key, mk];
  }

  /** Removes one version (meta first, so it stops being runnable); its claim stays so n is not reused. */
  async deleteVersion(functionId: string, version: number): Promise<void> {
    await this.storage.delete(metaKey(functionId, version));
    await this.storage.delete(codeKey(functionId, version));
  }

  /** Removes a whole function: every meta.json first, then the rest. */
  async deleteFunction(functionId: string): Promise<void> {
    const keys = (await this.storage.list(functionPrefix(functionId))).map((o) => o.key);
    const metas = keys.filter((k) => k.endsWith('/meta.json'));
    await Promise.all(metas.map((k) => this.storage.delete(k)));
    const rest = keys.filter((k) => !k.endsWith('/meta.json'));
    for (let i = 0; i < rest.length; i += 32)
      await Promise.all(rest.slice(i, i + 32).map((k) => this.storage.delete(k)));
  }

  async readAlias(functionId: string, alias: string): Promise<FunctionAlias | undefined> {
    return this.readJson<FunctionAlias>(aliasKey(functionId, alias));
  }

  async listAliases(functionId: string): Promise<FunctionAlias[]> {
    const prefix = `${functionPrefix(functionId)}aliases/`;
    const names = (await this.storage.list(prefix))
      .map((o) => o.key.slice(prefix.length))
      .filter((k) => k.endsWith('.json') && !k.includes('/'));
    const all = await Promise.all(names.map((n) => this.readAlias(functionId, n.slice(0, -5))));
    return all.filter((a): a is FunctionAlias => a !== undefined).sort((a, b) => a.alias.localeCompare(b.alias));
  }

  /** Points an alias at a version; the last writer wins, as with any pointer update. */
  async putAlias(functionId: string, alias: FunctionAlias): Promise<string> {
    const key = aliasKey(functionId, alias.alias);
    await this.storage.put(key, JSON.stringify(alias), { contentType: 'application/json' });
    return key;
  }

  async deleteAlias(functionId: string, alias: string): Promise<void> {
    await this.storage.delete(aliasKey(functionId, alias));
  }

  private async readJson<T>(key: string): Promise<T | undefined> {
    let raw: Buffer;
    try {
      raw = await buffer(await this.storage.get(key));
    } catch (err) {
      if (isNanoGridError(err, 'NOT_FOUND')) return undefined;
      throw err;
    }
    try {
      return JSON.parse(raw.toString('utf8')) as T;
    } catch (err) {
      throw new NanoGridError('INTERNAL', `${key} in storage is not JSON`, { cause: err });
    }
  }
}

import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { NanoGridError } from '@nanogrid/core';
import type BetterSqlite3 from 'better-sqlite3';
import { GroupCommit } from './group-commit.js';
import { MIGRATIONS } from './schema.js';
import { toSqliteError } from './sqlite-errors.js';

export interface SqliteDatabaseOptions {
  /** Path of the database file; its directory is created when missing. */
  file: string;
  /**
   * `'normal'`: a commit survives the process being killed (SIGKILL, OOM
   * killer); an OS crash or power cut may lose the last commits, never the
   * file's consistency. `'full'`: every commit is flushed to the disk (slower).
   * @default 'normal'
   */
  synchronous?: 'normal' | 'full';
  /** How long opening waits for another process's lock before giving up, ms. @default 2000 */
  lockTimeoutMs?: number;
  /** Name shown in errors. @default 'sqlite' */
  name?: string;
}

/** One open database file, shared by the stores built on it; closed when the last one closes. */
export interface SqliteDatabase {
  readonly file: string;
  readonly db: BetterSqlite3.Database;
  /** Runs `fn` (reads), turning SQLite failures (disk full, I/O) into BACKEND_UNAVAILABLE naming `plugin`. */
  guard<T>(plugin: string, fn: () => T): T;
  /**
   * Runs `fn` (writes) in the current group commit; resolves with its value
   * once the group is in the file, then runs `after`. Errors as `guard`.
   */
  write<T>(plugin: string, fn: () => T, after?: (value: T) => void): Promise<T>;
  /** A store starts using the database. */
  retain(): void;
  /** A store is done with it; the last release closes the file. */
  release(): void;
  readonly open: boolean;
}

/** Loaded on first use: the native addon costs nothing to a host that keeps everything in memory. */
function loadDriver(): typeof BetterSqlite3 {
  return createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
}

/**
 * Opens (creating when missing) the database file in WAL mode with an
 * exclusive lock — one NanoGrid host per file, so a second host on the same
 * data directory stops with a clear error instead of sharing the queue's
 * leases — and brings its schema up to date.
 */
export function openSqliteDatabase(opts: SqliteDatabaseOptions): SqliteDatabase {
  const file = resolve(opts.file);
  const name = opts.name ?? 'sqlite';
  let db: BetterSqlite3.Database;
  try {
    mkdirSync(dirname(file), { recursive: true });
    const Driver = loadDriver();
    db = new Driver(file, { timeout: opts.lockTimeoutMs ?? 2000 });
  } catch (err) {
    throw toSqliteError(err, file, name);
  }
  try {
    // Exclusive before WAL: no shared-memory index, and the lock is kept from the first write on.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    migrate(db, file);
  } catch (err) {
    db.close();
    throw toSqliteError(err, file, name);
  }

  let refs = 0;
  const group = new GroupCommit(db);
  const closedError = (plugin: string) =>
    new NanoGridError('SHUTTING_DOWN', `${plugin}: the database ${file} is closed`, { plugin });
  return {
    file,
    db,
    get open() {
      return db.open;
    },
    guard<T>(plugin: string, fn: () => T): T {
      if (!db.open) throw closedError(plugin);
      try {
        return fn();
      } catch (err) {
        throw toSqliteError(err, file, plugin);
      }
    },
    write<T>(plugin: string, fn: () => T, after?: (value: T) => void): Promise<T> {
      if (!db.open) return Promise.reject(closedError(plugin));
      return group.write(fn, after).catch((err: unknown) => {
        throw toSqliteError(err, file, plugin);
      });
    },
    retain() {
      refs += 1;
    },
    release() {
      refs -= 1;
      if (refs > 0 || !db.open) return;
      group.flush();
      db.close();
    },
  };
}

function migrate(db: BetterSqlite3.Database, file: string): void {
  // IMMEDIATE takes the write lock now, even with nothing to migrate: a second host fails here.
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new NanoGridError(
        'CONFIG_INVALID',
        `${file} was written by a newer NanoGrid (schema ${version}, this one knows ${MIGRATIONS.length}); upgrade NanoGrid or use another dataDir`,
        {
          details: { file, schema: version },
        },
      );
    }
    for (let i = version; i < MIGRATIONS.length; i += 1) db.exec(MIGRATIONS[i]!);
    if (version !== MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}

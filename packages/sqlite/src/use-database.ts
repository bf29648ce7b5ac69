import { NanoGridError } from '@nanogrid/core';
import { type SqliteDatabase, type SqliteDatabaseOptions, openSqliteDatabase } from './sqlite-database.js';

/** Where a store keeps its data: a file it opens itself, or a database shared with other stores. */
export interface SqliteSource {
  /** Database file this store opens (and closes) on its own; one of `file` / `database`. */
  file?: string;
  /** An open database shared with other stores (see `sqliteBackend`); one of `file` / `database`. */
  database?: SqliteDatabase;
  /** Durability of commits when this store opens the file itself. @default 'normal' */
  synchronous?: SqliteDatabaseOptions['synchronous'];
}

/** The store's database, retained until the store closes. */
export function useDatabase(source: SqliteSource, plugin: string): SqliteDatabase {
  if ((source.file === undefined) === (source.database === undefined)) {
    throw new NanoGridError(
      'CONFIG_INVALID',
      `${plugin}: give exactly one of "file" (a path) or "database" (from openSqliteDatabase)`,
      {
        plugin,
        details: { field: 'file' },
      },
    );
  }
  const database =
    source.database ??
    openSqliteDatabase({
      file: source.file!,
      name: plugin,
      ...(source.synchronous ? { synchronous: source.synchronous } : {}),
    });
  if (!database.open)
    throw new NanoGridError('SHUTTING_DOWN', `${plugin}: the database ${database.file} is closed`, { plugin });
  database.retain();
  return database;
}

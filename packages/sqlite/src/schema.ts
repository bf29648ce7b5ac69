/**
 * The schema as ordered migrations: `PRAGMA user_version` counts the ones
 * applied, so a database written by an older NanoGrid is brought up to date
 * at open and never rewritten from scratch. A new store (idempotency keys,
 * schedules, a webhook outbox …) appends one entry; entries are never edited.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: queue, dead letters, job records, rate-limit windows.
  `
  -- AUTOINCREMENT: ids are never reused, so a stale receipt (id, attempts) cannot match a later message.
  CREATE TABLE queue_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    visible_at INTEGER NOT NULL,
    leased INTEGER NOT NULL DEFAULT 0,
    last INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX queue_messages_ready ON queue_messages (queue, last, visible_at, id);
  CREATE TABLE queue_dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    reason TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX queue_dead_letters_queue ON queue_dead_letters (queue, id);
  CREATE TABLE job_records (
    job_id TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    final INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX job_records_expiry ON job_records (expires_at);
  CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    reset_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX rate_limits_reset ON rate_limits (reset_at);
  `,
  // 2: claims (idempotency keys, schedule ticks): a key held until it expires.
  `
  CREATE TABLE claims (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX claims_expiry ON claims (expires_at);
  `,
  // 3: job listing (GET /jobs): the record's function, status and created time as columns, newest-first indexes.
  `
  ALTER TABLE job_records ADD COLUMN function_id TEXT NOT NULL DEFAULT '';
  ALTER TABLE job_records ADD COLUMN status TEXT NOT NULL DEFAULT '';
  ALTER TABLE job_records ADD COLUMN created_at TEXT NOT NULL DEFAULT '';
  UPDATE job_records SET function_id = json_extract(record, '$.function_id'), status = json_extract(record, '$.status'),
    created_at = json_extract(record, '$.created_at');
  CREATE INDEX job_records_recent ON job_records (created_at DESC, job_id DESC);
  CREATE INDEX job_records_function ON job_records (function_id, created_at DESC, job_id DESC);
  `,
  // 4: counters (per-minute job statistics) and host presence heartbeats, both expiring.
  `
  CREATE TABLE counters (
    key TEXT NOT NULL,
    field TEXT NOT NULL,
    value REAL NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (key, field)
  ) WITHOUT ROWID;
  CREATE INDEX counters_expiry ON counters (expires_at);
  CREATE TABLE hosts (
    id TEXT PRIMARY KEY,
    info TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
];

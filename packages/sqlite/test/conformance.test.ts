import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testLiveEvents, testQueueSource, testResultSink } from '@nanogrid/core/testing';
import { afterAll, beforeAll, describe } from 'vitest';
import { type SqliteQueue, sqliteQueue, sqliteResults } from '../src/index.js';

describe('sqlite conformance', () => {
  let dir: string;
  let n = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-sqlite-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  // A file per store: each has the file's exclusive lock to itself.
  const file = () => join(dir, `db-${++n}.sqlite`);

  testQueueSource<SqliteQueue>(
    'sqliteQueue',
    async ({ visibilityTimeoutMs, maxAttempts }) => sqliteQueue({ file: file(), visibilityTimeoutMs, maxAttempts }),
    {
      deadLetters: (q) => q.deadLetters(),
      sendRaw: (q, body) => q.sendRaw(body),
      bounded: async (maxBytes) => sqliteQueue({ file: file(), maxBytes }),
    },
  );

  testResultSink(
    'sqliteResults',
    async ({ ttlSec }) => sqliteResults({ file: file(), ...(ttlSec === undefined ? {} : { ttlSec }) }),
    { waiters: 100, onFinal: true, bounded: async (maxBytes) => sqliteResults({ file: file(), maxBytes }) },
  );

  testLiveEvents('sqliteResults', async () => {
    const sink = sqliteResults({ file: file() });
    return { writer: sink, reader: sink, listeners: () => sink.followers(), cleanup: () => sink.close() };
  });
});

import { decodeJobCursor, encodeJobCursor, matchesJobQuery } from '@nanogrid/core';
import type { JobPage, JobQuery, JobRecord } from '@nanogrid/core';
import type { RedisLink } from './connection.js';
import { LuaScript } from './lua-script.js';

/** The records of KEYS (job hashes), '' for one that expired (a nil would cut the Lua array short). */
const READ_RECORDS = new LuaScript(`local out = {}
for i, k in ipairs(KEYS) do out[i] = redis.call('HGET', k, 'record') or '' end
return out`);

/** Members read per round trip while filtering (status filters may skip many). */
const BATCH = 200;

/** Where WRITE_RECORD adds a job to the recent-jobs indexes and trims what is past the TTL. */
export interface JobIndexEntry {
  /** The global sorted set, then the function's. */
  keys: [string, string];
  /** `created_at job_id`. */
  member: string;
  /** The oldest created time kept. */
  oldest: string;
}

export interface RedisJobIndex {
  entry(record: JobRecord): JobIndexEntry;
  list(query: JobQuery): Promise<JobPage>;
}

/**
 * `GET /jobs` on Redis: a sorted set of all jobs and one per function, trimmed by created time past the
 * TTL, with members of expired records dropped as a listing meets them. Members are `created_at job_id`
 * with all scores 0: they sort by text, which is newest-first order read backwards (ISO times of one
 * length sort as times). The status filter is applied to the records read.
 */
export function redisJobIndex(link: RedisLink, ttlSec: number, jobKey: (jobId: string) => string): RedisJobIndex {
  const all = `${link.prefix}jobs:recent`;
  const byFunction = (fn: string) => `${link.prefix}jobs:recent:fn:${fn}`;
  const member = (r: { created_at: string; job_id: string }) => `${r.created_at} ${r.job_id}`;

  return {
    entry(record) {
      const oldest = new Date(Date.now() - ttlSec * 1000).toISOString();
      return { keys: [all, byFunction(record.function_id)], member: member(record), oldest };
    },
    async list(q) {
      const key = q.function_id !== undefined ? byFunction(q.function_id) : all;
      const after = q.cursor === undefined ? undefined : decodeJobCursor(q.cursor);
      let max = after ? `(${member(after)}` : '+';
      const min = q.since !== undefined ? `[${q.since}` : '-';
      const jobs: JobRecord[] = [];
      const seen = new Set<string>(); // a job submitted twice under one id may have two members
      while (jobs.length <= q.limit) {
        const members = (await link.run((c) =>
          c.call('ZREVRANGEBYLEX', [key, max, min, 'LIMIT', '0', String(BATCH)]),
        )) as string[];
        if (members.length === 0) break;
        const ids = members.map((m) => m.slice(m.indexOf(' ') + 1));
        const texts = (await link.run((c) => READ_RECORDS.run(c, ids.map(jobKey), []))) as string[];
        const gone: string[] = [];
        texts.forEach((text, i) => {
          if (text === '') return void gone.push(members[i]!);
          const record = JSON.parse(text) as JobRecord;
          if (jobs.length > q.limit || seen.has(record.job_id) || !matchesJobQuery(record, q, after)) return;
          seen.add(record.job_id);
          jobs.push(record);
        });
        if (gone.length > 0) await link.run((c) => c.call('ZREM', [key, ...gone]));
        max = `(${members.at(-1)}`;
        if (members.length < BATCH) break;
      }
      const page = jobs.slice(0, q.limit);
      const last = page.at(-1);
      return jobs.length > q.limit && last ? { jobs: page, next_cursor: encodeJobCursor(last) } : { jobs: page };
    },
  };
}

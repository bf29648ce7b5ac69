import { decodeJobCursor, encodeJobCursor, matchesJobQuery } from '@nanogrid/core';
import type { JobPage, JobQuery, JobRecord } from '@nanogrid/core';
import type { RedisLink } from './connection.js';
import { LuaScript } from './lua-script.js';

/**
 * Adds a job to the recent-jobs indexes and trims what is past the TTL. KEYS[1] the global sorted
 * set, KEYS[2] the function's; ARGV[1] the member, ARGV[2] TTL seconds, ARGV[3] the oldest created
 * time kept. All scores are 0: members (`created_at job_id`) sort by text, which is newest-first order
 * read backwards (ISO times of one length sort as times).
 */
const INDEX_JOB = new LuaScript(`for i = 1, 2 do
  redis.call('ZADD', KEYS[i], 0, ARGV[1])
  redis.call('ZREMRANGEBYLEX', KEYS[i], '-', '(' .. ARGV[3])
  redis.call('EXPIRE', KEYS[i], ARGV[2])
end
return 1`);

/** The records of KEYS (job hashes), '' for one that expired (a nil would cut the Lua array short). */
const READ_RECORDS = new LuaScript(`local out = {}
for i, k in ipairs(KEYS) do out[i] = redis.call('HGET', k, 'record') or '' end
return out`);

/** Members read per round trip while filtering (status filters may skip many). */
const BATCH = 200;

export interface RedisJobIndex {
  add(record: JobRecord): Promise<void>;
  list(query: JobQuery): Promise<JobPage>;
}

/**
 * `GET /jobs` on Redis: a sorted set of all jobs and one per function, trimmed
 * by created time past the TTL, with members of expired records dropped as a
 * listing meets them. The status filter is applied to the records read.
 */
export function redisJobIndex(link: RedisLink, ttlSec: number, jobKey: (jobId: string) => string): RedisJobIndex {
  const all = `${link.prefix}jobs:recent`;
  const byFunction = (fn: string) => `${link.prefix}jobs:recent:fn:${fn}`;
  const member = (r: { created_at: string; job_id: string }) => `${r.created_at} ${r.job_id}`;

  return {
    async add(record) {
      const oldest = new Date(Date.now() - ttlSec * 1000).toISOString();
      await link.run((c) => INDEX_JOB.run(c, [all, byFunction(record.function_id)], [member(record), ttlSec, oldest]));
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

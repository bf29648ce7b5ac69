import { randomUUID } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { NanoGridError } from '../errors.js';
import type { StorageBackend } from '../plugins/storage-backend.js';
import { parseSchedule } from './schedule-expression.js';

/** A schedule as stored (`schedules/{function_id}/{schedule_id}.json`) and shown by the API. */
export interface Schedule {
  schedule_id: string;
  function_id: string;
  /** What runs: the function's name, or `name:alias` / `name:version` as given. */
  function: string;
  /** `rate(N unit)` or a 5- or 6-field cron expression. */
  schedule: string;
  timezone: string;
  payload: unknown;
  created_at: string;
}

export interface NewSchedule {
  schedule?: unknown;
  timezone?: unknown;
  payload?: unknown;
}

/** Most schedules one function may have: each is read on every scheduler pass. */
export const MAX_SCHEDULES_PER_FUNCTION = 100;
const MAX_PAYLOAD_BYTES = 256 * 1024;
const PREFIX = 'schedules/';

function invalid(field: string, message: string): NanoGridError {
  return new NanoGridError('VALIDATION_FAILED', message, { details: { field } });
}

async function readJson<T>(storage: StorageBackend, key: string): Promise<T | undefined> {
  try {
    return JSON.parse((await buffer(await storage.get(key))).toString('utf8')) as T;
  } catch (err) {
    if (err instanceof NanoGridError && err.code === 'NOT_FOUND') return undefined;
    throw err;
  }
}

/**
 * Schedules live in the storage backend, beside the functions, so every
 * controller sees the same ones; which controller fires a tick is decided by
 * a claim in the result sink (see Scheduler).
 */
export class ScheduleStore {
  constructor(private readonly storage: StorageBackend) {}

  private key(functionId: string, scheduleId: string): string {
    return `${PREFIX}${functionId}/${scheduleId}.json`;
  }

  /** Checks the request, then stores it. `target` is the function reference jobs run. */
  async create(functionId: string, target: string, req: NewSchedule): Promise<Schedule> {
    if (typeof req.schedule !== 'string') throw invalid('schedule', 'schedule must be a string: cron or rate(N unit)');
    if (req.timezone !== undefined && typeof req.timezone !== 'string') {
      throw invalid('timezone', 'timezone must be an IANA name such as "Europe/Paris"');
    }
    const timezone = (req.timezone as string | undefined) ?? 'UTC';
    const parsed = parseSchedule(req.schedule, timezone);
    if (parsed.next(new Date()) === null) {
      throw invalid('schedule', `schedule "${parsed.source}" never fires (no such date, e.g. February 30)`);
    }
    const payload = req.payload ?? {};
    if (Buffer.byteLength(JSON.stringify(payload)) > MAX_PAYLOAD_BYTES) {
      throw invalid('payload', `a schedule's payload is at most ${MAX_PAYLOAD_BYTES} bytes of JSON`);
    }
    if ((await this.list(functionId)).length >= MAX_SCHEDULES_PER_FUNCTION) {
      throw invalid('schedule', `a function has at most ${MAX_SCHEDULES_PER_FUNCTION} schedules; delete one first`);
    }
    const schedule: Schedule = {
      schedule_id: randomUUID(),
      function_id: functionId,
      function: target,
      schedule: parsed.source,
      timezone,
      payload,
      created_at: new Date().toISOString(),
    };
    await this.storage.put(this.key(functionId, schedule.schedule_id), JSON.stringify(schedule), {
      contentType: 'application/json',
    });
    return schedule;
  }

  /** One function's schedules (or every function's), oldest first. */
  async list(functionId?: string): Promise<Schedule[]> {
    const objects = await this.storage.list(functionId ? `${PREFIX}${functionId}/` : PREFIX);
    const all = await Promise.all(
      objects.filter((o) => o.key.endsWith('.json')).map((o) => readJson<Schedule>(this.storage, o.key)),
    );
    return all.filter((s): s is Schedule => s !== undefined).sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  /** Removes one schedule; NOT_FOUND when the function has no such schedule. */
  async delete(functionId: string, scheduleId: string): Promise<void> {
    const key = this.key(functionId, scheduleId);
    if (!/^[0-9a-f-]{36}$/.test(scheduleId) || !(await this.storage.head(key))) {
      throw new NanoGridError('NOT_FOUND', `no schedule "${scheduleId}" on this function`, {
        details: { schedule_id: scheduleId },
      });
    }
    await this.storage.delete(key);
  }
}

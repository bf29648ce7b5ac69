import { type FunctionRegistry, type Logger, NanoGridError, type ScheduleStore, type Scheduler } from '@nanogrid/core';
import type { Hono } from 'hono';
import { readJsonObject } from './read-json.js';

export interface ScheduleRoutesDeps {
  registry: Pick<FunctionRegistry, 'get'>;
  store: Pick<ScheduleStore, 'create' | 'list' | 'delete'>;
  /** Absent when the result sink cannot claim ticks: schedules are then refused, not silently never fired. */
  scheduler?: Pick<Scheduler, 'invalidate'>;
  logger: Logger;
}

/**
 * `POST/GET /functions/{ref}/schedules`, `DELETE /functions/{ref}/schedules/{id}`.
 * A schedule runs `ref` as given: `name` follows the latest version, `name:prod` the alias.
 */
export function scheduleRoutes(app: Hono, deps: ScheduleRoutesDeps): void {
  const { registry, store, scheduler, logger } = deps;

  app.post('/functions/:ref/schedules', async (c) => {
    if (!scheduler) {
      throw new NanoGridError(
        'BAD_REQUEST',
        'schedules need a results backend that can claim ticks (memory, SQLite or Redis); this host has none',
      );
    }
    const ref = c.req.param('ref');
    const fn = await registry.get(ref);
    const schedule = await store.create(fn.function_id, ref, await readJsonObject(c));
    scheduler.invalidate();
    logger.info('schedule created', { schedule_id: schedule.schedule_id, function: ref, schedule: schedule.schedule });
    return c.json(schedule, 201);
  });

  app.get('/functions/:ref/schedules', async (c) => {
    const fn = await registry.get(c.req.param('ref'));
    return c.json({ function_id: fn.function_id, schedules: await store.list(fn.function_id) });
  });

  app.delete('/functions/:ref/schedules/:id', async (c) => {
    const fn = await registry.get(c.req.param('ref'));
    await store.delete(fn.function_id, c.req.param('id'));
    scheduler?.invalidate();
    return c.json({ schedule_id: c.req.param('id'), deleted: true });
  });
}

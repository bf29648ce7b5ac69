import type { FunctionRegistry, Logger } from '@nanogrid/core';
import type { Hono } from 'hono';
import { readJsonObject } from './read-json.js';
import { functionView } from './views.js';

export interface FunctionRoutesDeps {
  registry: Pick<FunctionRegistry, 'get' | 'list' | 'delete' | 'versions' | 'setAlias' | 'deleteAlias'>;
  logger: Logger;
}

/**
 * Function management. `{ref}` is a name or id, optionally `:version` or
 * `:alias` where a single version is meant (`GET`, `DELETE` of one version).
 */
export function functionRoutes(app: Hono, deps: FunctionRoutesDeps): void {
  const { registry, logger } = deps;

  app.get('/functions', async (c) => c.json({ functions: (await registry.list()).map(functionView) }));

  app.get('/functions/:ref', async (c) => c.json(functionView(await registry.get(c.req.param('ref')))));

  app.delete('/functions/:ref', async (c) => {
    const ref = c.req.param('ref');
    const meta = await registry.delete(ref);
    const oneVersion = ref.includes(':');
    logger.info(oneVersion ? 'function version deleted' : 'function deleted', {
      function_id: meta.function_id,
      function_name: meta.function_name,
      ...(oneVersion ? { version: meta.version } : {}),
    });
    return c.json({
      function_id: meta.function_id,
      function_name: meta.function_name,
      ...(oneVersion ? { version: meta.version } : {}),
      deleted: true,
    });
  });

  app.get('/functions/:ref/versions', async (c) => {
    const { versions, aliases } = await registry.versions(c.req.param('ref'));
    const last = versions[versions.length - 1];
    return c.json({
      function_id: last?.function_id,
      function_name: last?.function_name,
      versions: versions.map(functionView),
      aliases,
    });
  });

  app.get('/functions/:ref/aliases', async (c) => {
    const { versions, aliases } = await registry.versions(c.req.param('ref'));
    const last = versions[versions.length - 1];
    return c.json({ function_id: last?.function_id, function_name: last?.function_name, aliases });
  });

  app.put('/functions/:ref/aliases/:alias', async (c) => {
    const body = await readJsonObject(c);
    const alias = await registry.setAlias(c.req.param('ref'), c.req.param('alias'), body['version']);
    logger.info('alias set', { function_id: alias.function_id, alias: alias.alias, version: alias.version });
    return c.json(alias);
  });

  app.delete('/functions/:ref/aliases/:alias', async (c) => {
    const ref = c.req.param('ref');
    const alias = c.req.param('alias');
    await registry.deleteAlias(ref, alias);
    return c.json({ function: ref, alias, deleted: true });
  });
}

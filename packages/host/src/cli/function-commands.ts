import { type CliIo, parseCommand, positiveInt } from './client-context.js';
import { EXIT } from './exit-codes.js';
import { bytes, table, when } from './format.js';
import { UsageError } from './usage-error.js';

export async function lsCommand(args: string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  const { ctx } = parseCommand('ls', args, {}, io, env, { min: 0, max: 0, names: '' });
  const fns = await ctx.client.listFunctions();
  if (ctx.json) io.out(JSON.stringify(fns, null, 2));
  else if (fns.length === 0) io.err('no functions yet: nanogrid deploy <file|dir>');
  else
    for (const l of table(
      ['NAME', 'VERSION', 'RUNTIME', 'MEMORY', 'TIMEOUT', 'NETWORK', 'UPDATED', 'ID'],
      fns.map((f) => [
        f.function_name,
        f.version,
        f.runtime,
        `${f.memory_mb} MB`,
        `${f.timeout} s`,
        f.network,
        when(f.created_at),
        f.function_id,
      ]),
    ))
      io.out(l);
  return EXIT.OK;
}

export async function rmCommand(args: string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  const { ctx, positionals } = parseCommand('rm', args, {}, io, env, {
    min: 1,
    max: 1,
    names: 'a function (name, or name:version for one version)',
  });
  const res = await ctx.client.deleteFunction(positionals[0] as string);
  if (ctx.json) io.out(JSON.stringify(res, null, 2));
  else
    io.out(
      res.version !== undefined
        ? `deleted ${res.function_name} version ${res.version}`
        : `deleted ${res.function_name} (every version and alias)`,
    );
  return EXIT.OK;
}

export async function versionsCommand(args: string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  const { ctx, positionals } = parseCommand('versions', args, {}, io, env, {
    min: 1,
    max: 1,
    names: 'a function name',
  });
  const res = await ctx.client.versions(positionals[0] as string);
  if (ctx.json) {
    io.out(JSON.stringify(res, null, 2));
    return EXIT.OK;
  }
  const latest = res.versions.at(-1)?.version;
  const rows = res.versions.map((v) => {
    const tags = [
      ...(v.version === latest ? ['latest'] : []),
      ...res.aliases.filter((a) => a.version === v.version).map((a) => a.alias),
    ];
    return [
      v.version,
      v.runtime,
      v.code_sha256.slice(0, 12),
      bytes(v.code_size),
      when(v.created_at),
      tags.join(', ') || undefined,
    ];
  });
  for (const l of table(['VERSION', 'RUNTIME', 'CODE', 'SIZE', 'CREATED', 'ALIASES'], rows)) io.out(l);
  return EXIT.OK;
}

export async function aliasCommand(args: string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  const { ctx, values, positionals } = parseCommand('alias', args, { delete: { type: 'boolean' } }, io, env, {
    min: 2,
    max: 3,
    names: '<function> <alias> <version> (or <function> <alias> --delete)',
  });
  const [fn, alias, v] = positionals as [string, string, string | undefined];
  if (values['delete'] === true) {
    // The way out of "move or delete the alias first" when removing the version it points at.
    if (v !== undefined) throw new UsageError('alias --delete takes no version');
    const res = await ctx.client.deleteAlias(fn, alias);
    if (ctx.json) io.out(JSON.stringify(res, null, 2));
    else io.out(`deleted alias ${res.function}:${res.alias}`);
    return EXIT.OK;
  }
  const version = positiveInt('<version>', v);
  if (version === undefined) throw new UsageError('alias needs a version');
  const res = await ctx.client.setAlias(fn, alias, version);
  if (ctx.json) io.out(JSON.stringify(res, null, 2));
  else io.out(`${res.function_name}:${res.alias} → version ${res.version}`);
  return EXIT.OK;
}

import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@nanogrid/core';
import { eventually } from '@nanogrid/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packDir } from '../src/cli/pack-dir.js';
import { runCli } from '../src/cli-main.js';
import { type RunningHost, startHost } from '../src/start-host.js';
import { FAIL_PY } from './helpers.js';

const GREET_PY = 'def handler(event, context):\n    return {"hi": event.get("name", "you")}\n';

/** Runs one CLI command in-process against the test host; returns its exit status and output. */
async function cli(args: string[], env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, env);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('nanogrid client commands', () => {
  let host: RunningHost;
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-cli-client-'));
    host = await startHost({
      config: { sandbox: 'process', dataDir: join(dir, 'data') },
      port: 0,
      hostname: '127.0.0.1',
      handleSignals: false,
      logger: silentLogger,
      cwd: dir,
    });
    env = { NANOGRID_URL: host.url };
    const fn = join(dir, 'greeter');
    await mkdir(join(fn, '__pycache__'), { recursive: true });
    await mkdir(join(fn, 'node_modules/x'), { recursive: true });
    await mkdir(join(fn, 'lib'), { recursive: true });
    await writeFile(join(fn, 'main.py'), GREET_PY);
    await writeFile(join(fn, 'lib/util.py'), 'X = 1\n');
    await writeFile(join(fn, '__pycache__/main.cpython-311.pyc'), 'junk');
    await writeFile(join(fn, 'node_modules/x/index.js'), 'junk');
    await writeFile(join(fn, 'notes.secret'), 'do not ship');
    await writeFile(join(fn, '.nanogridignore'), '*.secret\n');
    await writeFile(join(fn, 'nanogrid.json'), JSON.stringify({ name: 'greeter', timeout: 20, env: { MODE: 'json' } }));
    await symlink('/etc/passwd', join(fn, 'passwd'));
    await writeFile(join(dir, 'fails.py'), FAIL_PY);
    await writeFile(join(dir, 'payload.json'), '{"name":"File"}');
    await mkdir(join(dir, 'empty'));
    await writeFile(join(dir, 'empty/README.md'), 'hi');
  });
  afterAll(async () => {
    await host?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('packs a directory without .git/node_modules/__pycache__, .nanogridignore matches or links', async () => {
    const packed = await packDir(join(dir, 'greeter'));
    expect(packed.files).toEqual(['lib/util.py', 'main.py', 'nanogrid.json']);
    expect(packed.skippedLinks).toEqual(['passwd']);
  });

  it('deploy (a directory with nanogrid.json), invoke, versions, alias, ls, rm', async () => {
    const first = await cli(['deploy', join(dir, 'greeter')], env);
    expect(first).toMatchObject({ code: 0 });
    expect(first.out).toMatch(/deployed greeter version 1 \(id [0-9a-f-]{36}\)/);
    expect(first.err).toContain('symbolic links are not deployed: passwd');
    const second = await cli(
      ['deploy', join(dir, 'greeter'), '--env', 'MODE=flag', '--memory', '256', '--disk', '64', '--json'],
      env,
    );
    expect(JSON.parse(second.out)).toMatchObject({
      function_name: 'greeter',
      version: 2,
      memory_mb: 256,
      disk_mb: 64,
      timeout: 20,
      env_keys: ['MODE'],
    });

    expect(await cli(['invoke', 'greeter', '--data', '{"name":"Ada"}'], env)).toMatchObject({
      code: 0,
      out: '{\n  "hi": "Ada"\n}',
    });
    const asJson = await cli(['invoke', 'greeter:1', '--data', `@${join(dir, 'payload.json')}`, '--json'], env);
    expect(JSON.parse(asJson.out)).toMatchObject({ status: 'completed', result: { hi: 'File' }, function_version: 1 });

    expect((await cli(['alias', 'greeter', 'prod', '1'], env)).out).toBe('greeter:prod → version 1');
    const versions = await cli(['versions', 'greeter'], env);
    expect(versions.out.split('\n')[0]).toMatch(/^VERSION\s+RUNTIME\s+CODE\s+SIZE\s+CREATED\s+ALIASES$/);
    expect(versions.out).toMatch(/\n1 .* prod\n2 .* latest$/);
    expect(JSON.parse((await cli(['ls', '--json'], env)).out)).toEqual([
      expect.objectContaining({ function_name: 'greeter', version: 2 }),
    ]);
    expect((await cli(['ls'], env)).out).toMatch(/^NAME\s+VERSION.*\ngreeter\s+2\s+python3 /);

    const queued = await cli(['invoke', 'greeter:prod', '--async'], env);
    expect(queued.code).toBe(0);
    const jobId = queued.out.trim();
    const logs = await cli(['logs', jobId, '--follow', '--json'], env);
    expect(logs.code).toBe(0);
    const events = logs.out.split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(events.at(-1)).toMatchObject({ type: 'end', job_id: jobId, status: 'completed' });
    const status = await cli(['status', jobId], env);
    expect(status.out).toMatch(/function\s+greeter:1\nstatus\s+completed/);
    const jobs = await cli(['jobs', '--function', 'greeter', '--status', 'completed', '--limit', '1'], env);
    expect(jobs.code).toBe(0);
    expect(jobs.out).toMatch(new RegExp(`^JOB\\s+FUNCTION\\s+STATUS.*\\n${jobId}\\s+greeter:1\\s+completed`));
    expect((await cli(['jobs', '--status', 'done'], env)).code).toBe(2);
    const late = await cli(['cancel', jobId], env);
    expect(late.code).toBe(3); // 409: the job is already final
    expect(late.err).toMatch(/CONFLICT|already completed/);

    expect((await cli(['rm', 'greeter:2'], env)).code).toBe(0); // no alias points at 2
    // prod holds version 1 until the alias goes.
    expect(await cli(['rm', 'greeter:1'], env)).toMatchObject({ code: 3, err: expect.stringContaining('alias prod') });
    expect(await cli(['alias', 'greeter', 'prod', '1', '--delete'], env)).toMatchObject({ code: 2 });
    expect((await cli(['alias', 'greeter', 'prod', '--delete'], env)).out).toBe('deleted alias greeter:prod');
    expect(await cli(['alias', 'greeter', 'prod'], env)).toMatchObject({
      code: 2,
      err: expect.stringContaining('needs a version'),
    });
    expect((await cli(['versions', 'greeter'], env)).out).not.toContain('prod');
    expect((await cli(['rm', 'greeter'], env)).out).toBe('deleted greeter (every version and alias)');
  });

  it('a function allowed more than Node fetch waits for is queued and polled, not awaited', async () => {
    expect(
      (await cli(['deploy', join(dir, 'greeter/main.py'), '--name', 'patient', '--timeout', '600'], env)).code,
    ).toBe(0);
    const res = await cli(['invoke', 'patient', '--data', '{"name":"Long"}'], env);
    expect(res).toMatchObject({ code: 0, out: '{\n  "hi": "Long"\n}' });
    expect(res.err).toMatch(/patient:1 may run up to 600 s: polling job [0-9a-f-]{36}/);
  });

  it('--callback-url reaches the host: a loopback one is refused at deploy and invoke (no allowNetworks)', async () => {
    const hook = ['--callback-url', 'http://127.0.0.1:9/hook'];
    const deployed = await cli(['deploy', join(dir, 'greeter/main.py'), '--name', 'hooked', ...hook], env);
    expect(deployed.code).toBe(3);
    expect(deployed.err).toMatch(/callback_url/);
    expect((await cli(['deploy', join(dir, 'greeter/main.py'), '--name', 'hooked'], env)).code).toBe(0);
    const invoked = await cli(['invoke', 'hooked', ...hook, '--callback-format', 'slack'], env);
    expect(invoked.code).toBe(3);
    expect(invoked.err).toMatch(/callback_url/);
    expect((await cli(['invoke', 'hooked', '--callback-format', 'xml'], env)).code).toBe(2);
  });

  it('a failed job prints its error and exits 1', async () => {
    expect((await cli(['deploy', join(dir, 'fails.py'), '--handler', 'fails.handler'], env)).code).toBe(0);
    const res = await cli(['invoke', 'fails'], env);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/\(fails:1\) failed: FUNCTION_ERROR: ValueError: divisor must not be zero/);
  });

  it('logs of a cancelled job: the lines it printed before the cancel (its record keeps none)', async () => {
    const src =
      'import time\n\ndef handler(event, context):\n    print("before the cancel", flush=True)\n    time.sleep(60)\n';
    await writeFile(join(dir, 'sleeper.py'), src);
    expect((await cli(['deploy', join(dir, 'sleeper.py')], env)).code).toBe(0);
    const jobId = (await cli(['invoke', 'sleeper', '--async'], env)).out.trim();
    await eventually(async () => expect((await cli(['logs', jobId], env)).out).toBe('before the cancel'), 20_000);
    expect((await cli(['cancel', jobId], env)).code).toBe(0);
    expect(await cli(['logs', jobId], env)).toMatchObject({ code: 0, out: 'before the cancel' });
  }, 30_000);

  it('exit statuses: 2 usage, 3 refused, 4 unreachable, 1 nothing to deploy; messages name the problem', async () => {
    expect(await cli(['invoke'], env)).toMatchObject({
      code: 2,
      err: expect.stringContaining('invoke needs a function'),
    });
    expect(await cli(['ls', '--bogus'], env)).toMatchObject({ code: 2 });
    expect(await cli(['invoke', 'fails', '--data', '{nope'], env)).toMatchObject({
      code: 2,
      err: expect.stringContaining('--data is not JSON'),
    });
    expect(await cli(['deploy', join(dir, 'fails.py'), '--network', 'moon'], env)).toMatchObject({ code: 2 });
    expect(await cli(['invoke', 'nobody'], env)).toMatchObject({
      code: 3,
      err: expect.stringContaining('FUNCTION_NOT_FOUND'),
    });
    expect(await cli(['alias', 'fails', '9lives', '1'], env)).toMatchObject({
      code: 3,
      err: expect.stringContaining('VALIDATION_FAILED (alias)'),
    });
    expect(await cli(['alias', 'fails', 'prod', '42'], env)).toMatchObject({
      code: 3,
      err: expect.stringContaining('no version 42'),
    });
    expect(await cli(['deploy', join(dir, 'fails.py'), '--runtime', 'cobol85'], env)).toMatchObject({
      code: 3,
      err: expect.stringContaining('RUNTIME_NOT_FOUND (runtime)'),
    });
    expect(await cli(['deploy', join(dir, 'empty')], env)).toMatchObject({
      code: 1,
      err: expect.stringContaining('no entry file in'),
    });
    expect(await cli(['deploy', join(dir, 'missing')], env)).toMatchObject({
      code: 1,
      err: expect.stringContaining('no such file or directory'),
    });
    const down = await cli(['ls', '--url', 'http://127.0.0.1:1'], env);
    expect(down).toMatchObject({ code: 4, err: expect.stringContaining('UNREACHABLE') });
    expect(await cli(['ls', '--url', 'ftp://x'], env)).toMatchObject({ code: 2 });
  });

  it('a host with API keys: a missing or wrong key exits 3 and says how to pass one', async () => {
    const keyed = await startHost({
      config: { sandbox: 'process', dataDir: join(dir, 'keyed'), http: { apiKeys: ['cli-key-1'] } },
      port: 0,
      hostname: '127.0.0.1',
      handleSignals: false,
      logger: silentLogger,
      cwd: dir,
    });
    try {
      for (const extra of [[], ['--api-key', 'not-it']]) {
        const res = await cli(['ls', '--url', keyed.url, ...extra], env);
        expect(res).toMatchObject({ code: 3, err: expect.stringContaining('UNAUTHORIZED') });
        expect(res.err).toContain('--api-key <key> or set NANOGRID_API_KEY');
      }
      expect(await cli(['ls', '--url', keyed.url], { ...env, NANOGRID_API_KEY: 'cli-key-1' })).toMatchObject({
        code: 0,
      });
    } finally {
      await keyed.close();
    }
  });

  it("stats and system: the numbers and hosts the dashboard shows; bad windows are the host's 400", async () => {
    expect((await cli(['deploy', join(dir, 'greeter/main.py'), '--name', 'counted'], env)).code).toBe(0);
    for (const name of ['a', 'b'])
      expect((await cli(['invoke', 'counted', '--data', `{"name":"${name}"}`], env)).code).toBe(0);
    await eventually(async () => expect(host.nanogrid.worker?.inFlight).toBe(0), 5000);
    await host.nanogrid.stats.flush();

    const all = await cli(['stats', '--window', '15m'], env);
    expect(all.code).toBe(0);
    expect(all.out).toMatch(/^FUNCTION\s+INVOCATIONS\s+ERRORS/);
    expect(all.out).toMatch(/\ncounted\s+2\s+0/);
    const one = await cli(['stats', 'counted', '--window', '15m', '--step', '300'], env);
    expect(one.code).toBe(0);
    expect(one.out).toMatch(/^counted .* UTC, 300 s buckets\nBUCKET\s+INVOCATIONS.*\ntotal\s+2\s+0\s+\d/);
    expect(JSON.parse((await cli(['stats', 'counted', '--json'], env)).out)).toMatchObject({
      totals: { invocations: 2 },
    });
    const bad = await cli(['stats', 'counted', '--step', '59'], env);
    expect(bad).toMatchObject({ code: 3, err: expect.stringContaining('VALIDATION_FAILED (step)') });
    expect(await cli(['stats', 'never-deployed'], env)).toMatchObject({
      code: 3,
      err: expect.stringContaining('FUNCTION_NOT_FOUND'),
    });
    expect((await cli(['stats', 'a', 'b'], env)).code).toBe(2);

    const system = await cli(['system'], env);
    expect(system.code).toBe(0);
    expect(system.out).toMatch(/^HOST\s+ROLE\s+HOSTNAME/);
    expect(system.out).toMatch(/\n\S+\s+all\s+/);
    expect(system.out).toMatch(/\nresults sqlite-results: ok/);
    expect(JSON.parse((await cli(['system', '--json'], env)).out)).toMatchObject({
      presence: 'ok',
      queue: { depth: 0 },
    });
  });

  it('prints what a hostile function writes without its terminal escapes (cursor, title, clipboard)', async () => {
    const evil = join(dir, 'escapes.py');
    await writeFile(
      evil,
      [
        'import sys',
        'def handler(event, context):',
        '    print("\\x1b]52;c;ZXZpbA==\\x07clip \\x1b[2J\\x1b[Hclear \\rover", flush=True)',
        '    print("\\x1b]0;title\\x07err", file=sys.stderr, flush=True)',
        '    raise ValueError("\\x1b[1A\\x1b[2Kjob completed fine")',
        '',
      ].join('\n'),
    );
    expect((await cli(['deploy', evil, '--name', 'escapes'], env)).code).toBe(0);
    const ran = await cli(['invoke', 'escapes'], env);
    expect(ran.code).toBe(1);
    const jobId = /job ([0-9a-f-]{36})/.exec(ran.err)?.[1] ?? '';
    const follow = await cli(['logs', jobId, '--follow'], env);
    const tail = await cli(['logs', jobId], env);
    for (const text of [ran.err, follow.out, follow.err, tail.out]) {
      expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    }
    expect(follow.out).toContain('\\x1b]52;c;ZXZpbA==\\x07clip \\x1b[2J\\x1b[Hclear \\x0dover');
    expect(follow.err).toContain('\\x1b]0;title\\x07err');
    expect(ran.err).toContain('\\x1b[1A\\x1b[2Kjob completed fine');
    // --json keeps the bytes as they were (JSON escapes them).
    const json = await cli(['logs', jobId, '--follow', '--json'], env);
    expect(json.out).toContain('\\u001b]52;c;ZXZpbA==\\u0007clip');
  }, 60_000);
});

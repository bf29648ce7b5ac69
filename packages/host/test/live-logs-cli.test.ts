import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NanoGridClient } from '@nanogrid/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HostProcess, buildCli, repo, startHostProcess } from './host-process.js';

const TALKER_PY = `import sys
import time

def handler(event, context):
    print("first line")
    time.sleep(1.5)
    print("an error line", file=sys.stderr)
    if event.get("fail"):
        raise ValueError("failed on purpose")
    return {"ok": True}
`;

/** Runs `nanogrid <args>`, noting when each stdout line came; resolves at exit. */
function cli(
  args: string[],
): Promise<{ code: number | null; out: { line: string; at: number }[]; err: string; exitAt: number }> {
  const child = spawn(process.execPath, [join(repo, 'packages/host/dist/cli.js'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: { line: string; at: number }[] = [];
  let partial = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    const parts = (partial + c.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) out.push({ line, at: performance.now() });
  });
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve) =>
    child.once('close', (code) => resolve({ code, out, err, exitAt: performance.now() })),
  );
}

/** The embedded host (`nanogrid start`, SQLite store) and `nanogrid logs --follow`, each a real process. */
describe('nanogrid logs --follow against the embedded host', () => {
  let host: HostProcess;
  let dir: string;
  let client: NanoGridClient;

  beforeAll(async () => {
    await buildCli();
    dir = await mkdtemp(join(tmpdir(), 'nanogrid-live-cli-'));
    await writeFile(
      join(dir, 'nanogrid.config.mjs'),
      "export default { sandbox: 'process', hostname: '127.0.0.1' };\n",
    );
    host = await startHostProcess(dir);
    client = new NanoGridClient({ url: host.url });
    await client.deploy({ name: 'talker', runtime: 'python3.11', code: TALKER_PY, fileName: 'main.py', timeout: 60 });
  }, 120_000);
  afterAll(async () => {
    await host?.stop('SIGTERM');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prints lines as the job prints them and exits with its outcome', async () => {
    expect((await readdir(join(dir, '.nanogrid'))).some((f) => f.endsWith('.sqlite') || f.endsWith('.db'))).toBe(true);
    const job = await client.submit('talker', {});
    const ok = await cli(['logs', job.job_id, '--follow', '--url', host.url]);
    expect(ok.code).toBe(0);
    expect(ok.out.map((l) => l.line)).toEqual(['first line']);
    expect(ok.err).toContain('an error line');
    expect(ok.exitAt - (ok.out[0]?.at ?? ok.exitAt), 'the first line came while the job slept').toBeGreaterThan(700);

    const failing = await client.submit('talker', { fail: true });
    const failed = await cli(['logs', failing.job_id, '--follow', '--url', host.url]);
    expect(failed.code).toBe(1);
    expect(failed.err).toMatch(/\[failed\] FUNCTION_ERROR/);

    const json = await cli(['logs', failing.job_id, '--follow', '--json', '--url', host.url]);
    const events = json.out.map((l) => JSON.parse(l.line) as { type: string; status?: string });
    expect(events.at(-1)).toMatchObject({ type: 'end', status: 'failed' });
    expect(events.filter((e) => e.type === 'log').length).toBeGreaterThanOrEqual(2);

    const unknown = await cli(['logs', 'no-such-job', '--follow', '--url', host.url]);
    expect(unknown.code).toBe(3);
    expect(unknown.err).toContain('JOB_NOT_FOUND');
  }, 60_000);
});

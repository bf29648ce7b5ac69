import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { openFifoChannel, removeStaleFifoDirs } from '../src/fifo-channel.js';
import { WarmChannel } from '@nanogrid/core';

const roots: string[] = [];
const root = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'nanogrid-fifo-test-'));
  roots.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of roots.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('named-pipe channel of warm containers', () => {
  it('carries the protocol both ways and stderr apart, through the wrapped command', async () => {
    const fifo = await openFifoChannel(root());
    expect(fifo).toBeDefined();
    const server =
      'read line; echo "on stderr" >&2; printf "\\036NANOGRID_META {}\\n\\036NANOGRID_RESULT {\\"ok\\":true,\\"result\\":1}\\n"';
    // The wrapper run on the host, with the pipes where a container would mount them.
    const [sh, flag, wrapper, name, ...command] = fifo!.wrap(['sh', '-c', server]) as [
      string,
      string,
      string,
      string,
      ...string[],
    ];
    const stderr = once(fifo!.errors, 'data');
    const child = spawn(sh, [flag, wrapper.replaceAll('/nanogrid-channel', fifo!.dir), name, ...command], {
      stdio: 'ignore',
    });
    const answer = await new WarmChannel(fifo!.output, fifo!.input).call({ PAYLOAD: '{}' });
    expect(answer).toMatchObject({
      kind: 'answered',
      meta: {},
      resultLine: '\u001eNANOGRID_RESULT {"ok":true,"result":1}',
    });
    expect(String((await stderr)[0])).toBe('on stderr\n');
    await once(child, 'exit');
    fifo!.close();
    expect(existsSync(fifo!.dir)).toBe(false);
  });

  it('removes pipe directories of worker processes that are gone, not those of live ones', () => {
    const dir = root();
    const deadPid = spawnSync('true').pid!;
    mkdirSync(join(dir, `nanogrid-warm-${deadPid}-abc`));
    mkdirSync(join(dir, `nanogrid-warm-${process.pid}-def`));
    mkdirSync(join(dir, 'unrelated'));
    expect(removeStaleFifoDirs(dir)).toBe(1);
    expect(existsSync(join(dir, `nanogrid-warm-${deadPid}-abc`))).toBe(false);
    expect(existsSync(join(dir, `nanogrid-warm-${process.pid}-def`))).toBe(true);
    expect(existsSync(join(dir, 'unrelated'))).toBe(true);
  });
});

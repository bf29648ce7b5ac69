import { mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InstanceCodeDirs } from '../src/code-dirs.js';

// The fill of a prewarmed spare's code directory: no Docker needed (plain directories, hard links).
describe('InstanceCodeDirs fill', () => {
  let root: string;
  let prepared: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'ng-code-dirs-'));
    prepared = join(root, 'prepared');
    await mkdir(prepared);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("keeps a runtime file the prepared tree holds byte for byte, links the function's and any that differ", async () => {
    const dirs = new InstanceCodeDirs(join(root, 'instances'));
    const runtime = { 'boot.py': 'print("boot")\n', 'warm.py': 'print("v2")\n', 'serve.py': 'print("serve")\n' };
    const code = await dirs.create('r1', runtime);
    const keptIno = (await stat(join(code.dir, 'boot.py'))).ino;
    await writeFile(join(prepared, 'boot.py'), runtime['boot.py']);
    await writeFile(join(prepared, 'warm.py'), 'print("v1")\n'); // same size, other bytes (an older prepared tree)
    await writeFile(join(prepared, 'serve.py'), 'import os; os.system("id")\n'); // other size
    await writeFile(join(prepared, 'fn.py'), 'def handler(e, c): return 1\n');
    await mkdir(join(prepared, 'pkg'));
    await writeFile(join(prepared, 'pkg', 'boot.py'), runtime['boot.py']); // same name deeper: not the runtime's
    await code.fill(prepared);

    expect((await stat(join(code.dir, 'boot.py'))).ino).toBe(keptIno);
    for (const f of ['warm.py', 'serve.py', 'fn.py', 'pkg/boot.py']) {
      expect((await stat(join(code.dir, f))).ino, f).toBe((await stat(join(prepared, f))).ino);
      expect(await readFile(join(code.dir, f), 'utf8'), f).toBe(await readFile(join(prepared, f), 'utf8'));
    }
    await code.release();
  });

  it('recreates a symbolic link named like a runtime file as that link, never reading through it', async () => {
    const dirs = new InstanceCodeDirs(join(root, 'instances'));
    const code = await dirs.create('r2', { 'boot.py': 'secret\n' });
    await writeFile(join(root, 'elsewhere'), 'secret\n'); // the same bytes behind the link
    await symlink(join(root, 'elsewhere'), join(prepared, 'boot.py'));
    await code.fill(prepared);
    expect(await readlink(join(code.dir, 'boot.py'))).toBe(join(root, 'elsewhere'));
    await code.release();
  });

  it('a directory in the prepared tree where the runtime has a file fails the fill (the spare is not used)', async () => {
    const dirs = new InstanceCodeDirs(join(root, 'instances'));
    const code = await dirs.create('r3', { 'boot.py': 'x\n' });
    await mkdir(join(prepared, 'boot.py'));
    await writeFile(join(prepared, 'boot.py', 'a'), 'a');
    await expect(code.fill(prepared)).rejects.toThrow();
    await code.release();
  });
});

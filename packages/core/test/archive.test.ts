import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZipFile } from 'yazl';
import { createZip, extractZip, isNanoGridError, listZip, type ErrorCode } from '../src/index.js';

let root: string;
let n = 0;
const dest = () => join(root, `dest-${++n}`);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ng-archive-test-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Builds a zip with yazl; `add` puts entries in. */
async function zipWith(add: (zip: ZipFile) => void): Promise<Buffer> {
  const zip = new ZipFile();
  add(zip);
  zip.end();
  const parts: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}

/** Rewrites every occurrence of `from` with `to` (same length): yazl refuses `..` names, so tests rename afterwards. */
function patchBytes(zip: Buffer, from: string, to: string): Buffer {
  expect(Buffer.byteLength(from)).toBe(Buffer.byteLength(to));
  const out = Buffer.from(zip);
  const needle = Buffer.from(from);
  let count = 0;
  for (let at = out.indexOf(needle); at >= 0; at = out.indexOf(needle, at + 1)) {
    Buffer.from(to).copy(out, at);
    count++;
  }
  expect(count).toBe(2); // local header + central directory
  return out;
}

async function codeOf(promise: Promise<unknown>): Promise<ErrorCode | 'resolved' | 'other'> {
  try {
    await promise;
    return 'resolved';
  } catch (err) {
    return isNanoGridError(err) ? err.code : 'other';
  }
}

describe('createZip / extractZip / listZip', () => {
  it('round-trips files, nested directories and the executable bit', async () => {
    const zip = await createZip([
      { path: 'main.py', data: 'print("hi")\n' },
      { path: 'lib/util.py', data: Buffer.from('X = 1\n') },
      { path: 'bin/run.sh', data: '#!/bin/sh\necho run\n', mode: 0o755 },
    ]);
    const out = dest();
    const files = await extractZip(zip, out);
    expect(files).toEqual(['main.py', 'lib/util.py', 'bin/run.sh']);
    expect(await readFile(join(out, 'main.py'), 'utf8')).toBe('print("hi")\n');
    expect(await readFile(join(out, 'lib/util.py'), 'utf8')).toBe('X = 1\n');
    expect((await stat(join(out, 'bin/run.sh'))).mode & 0o111).not.toBe(0);
    expect((await stat(join(out, 'main.py'))).mode & 0o111).toBe(0);
    const listed = await listZip(zip);
    expect(listed.map((e) => [e.path, e.kind, e.size])).toEqual([
      ['main.py', 'file', 12],
      ['lib/util.py', 'file', 6],
      ['bin/run.sh', 'file', 19],
    ]);
  });

  it('gives the same bytes for the same files (stable code hash)', async () => {
    const files = [{ path: 'a.js', data: 'exports.handler = () => 1;' }];
    expect((await createZip(files)).equals(await createZip(files))).toBe(true);
  });

  it('extracts from a file path and keeps directory entries', async () => {
    const zip = await zipWith((z) => {
      z.addEmptyDirectory('empty');
      z.addBuffer(Buffer.from('x'), 'dir/x.txt');
    });
    const file = join(root, `src-${++n}.zip`);
    await writeFile(file, zip);
    const out = dest();
    expect(await extractZip(file, out)).toEqual(['dir/x.txt']);
    expect((await stat(join(out, 'empty'))).isDirectory()).toBe(true);
  });

  it('refuses entry names it cannot write safely', async () => {
    await expect(codeOf(createZip([{ path: '../x', data: '' }]))).resolves.toBe('ARCHIVE_PATH_TRAVERSAL');
  });
});

describe('extractZip refuses unsafe archives', () => {
  it('rejects ../ entries before writing anything', async () => {
    const good = await zipWith((z) => {
      z.addBuffer(Buffer.from('fine'), 'ok.txt');
      z.addBuffer(Buffer.from('evil'), 'aa/aa/evil.txt');
    });
    const out = dest();
    const evil = patchBytes(good, 'aa/aa/evil.txt', '../../evil.txt');
    await expect(codeOf(extractZip(evil, out))).resolves.toBe('ARCHIVE_PATH_TRAVERSAL');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(root, 'evil.txt'))).toBe(false);
    await expect(codeOf(listZip(evil))).resolves.toBe('ARCHIVE_PATH_TRAVERSAL');
  });

  it('rejects absolute and backslash-climbing entries', async () => {
    const good = await zipWith((z) => z.addBuffer(Buffer.from('x'), '_tmp/ng-evil'));
    await expect(codeOf(extractZip(patchBytes(good, '_tmp/ng-evil', '/tmp/ng-evil'), dest()))).resolves.toBe(
      'ARCHIVE_PATH_TRAVERSAL',
    );
    const win = await zipWith((z) => z.addBuffer(Buffer.from('x'), 'aa_aa_x'));
    await expect(codeOf(extractZip(patchBytes(win, 'aa_aa_x', '..\\..\\x'), dest()))).resolves.toBe(
      'ARCHIVE_PATH_TRAVERSAL',
    );
  });

  it('rejects a symlink that points out of the tree', async () => {
    const zip = await zipWith((z) => {
      z.addBuffer(Buffer.from('ok'), 'a.txt');
      z.addBuffer(Buffer.from('../../../etc/passwd'), 'sub/link', { mode: 0o120777 });
    });
    const out = dest();
    await expect(codeOf(extractZip(zip, out))).resolves.toBe('ARCHIVE_LINK_ESCAPE');
    expect(existsSync(out)).toBe(false);
  });

  it('rejects a symlink to an absolute path', async () => {
    const zip = await zipWith((z) => z.addBuffer(Buffer.from('/etc/passwd'), 'link', { mode: 0o120777 }));
    await expect(codeOf(extractZip(zip, dest()))).resolves.toBe('ARCHIVE_LINK_ESCAPE');
  });

  it('rejects entries written through a symlink, and link chains that climb out', async () => {
    const through = await zipWith((z) => {
      z.addBuffer(Buffer.from('.'), 'dir', { mode: 0o120777 });
      z.addBuffer(Buffer.from('x'), 'dir/x.txt');
    });
    await expect(codeOf(extractZip(through, dest()))).resolves.toBe('ARCHIVE_LINK_ESCAPE');
    const chain = await zipWith((z) => {
      z.addBuffer(Buffer.from('.'), 'here', { mode: 0o120777 });
      z.addBuffer(Buffer.from('here/../..'), 'up', { mode: 0o120777 });
    });
    await expect(codeOf(extractZip(chain, dest()))).resolves.toBe('ARCHIVE_LINK_ESCAPE');
  });

  it('keeps a symlink that stays inside the tree', async () => {
    const zip = await zipWith((z) => {
      z.addBuffer(Buffer.from('data'), 'lib/real.txt');
      z.addBuffer(Buffer.from('../lib/./real.txt'), 'bin/alias', { mode: 0o120777 });
    });
    const out = dest();
    expect(await extractZip(zip, out)).toEqual(['lib/real.txt', 'bin/alias']);
    expect((await lstat(join(out, 'bin/alias'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(out, 'bin/alias'))).toBe('../lib/real.txt');
    expect(await readFile(join(out, 'bin/alias'), 'utf8')).toBe('data');
  });

  it('rejects more entries than the limit, by default over 10 000', async () => {
    const six = await zipWith((z) => {
      for (let i = 0; i < 6; i++) z.addBuffer(Buffer.from(''), `f${i}.txt`, { compress: false });
    });
    await expect(codeOf(extractZip(six, dest(), { maxEntries: 5 }))).resolves.toBe('ARCHIVE_TOO_MANY_ENTRIES');
    await expect(codeOf(listZip(six, { maxEntries: 5 }))).resolves.toBe('ARCHIVE_TOO_MANY_ENTRIES');
    expect(await extractZip(six, dest(), { maxEntries: 6 })).toHaveLength(6);
    const many = await zipWith((z) => {
      for (let i = 0; i <= 10_000; i++) z.addBuffer(Buffer.alloc(0), `f${i}`, { compress: false });
    });
    await expect(codeOf(extractZip(many, dest()))).resolves.toBe('ARCHIVE_TOO_MANY_ENTRIES');
  });

  it('rejects a zip64 record that claims an absurd entry count without parsing it', async () => {
    const zip = await zipWith((z) => {
      z.addBuffer(Buffer.from('x'), 'x.txt');
      z.end({ forceZip64Format: true, comment: '' });
    });
    const at = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06]));
    expect(at).toBeGreaterThan(0);
    const patched = Buffer.from(zip);
    patched.writeBigUInt64LE(2n ** 40n, at + 24);
    patched.writeBigUInt64LE(2n ** 40n, at + 32);
    await expect(codeOf(extractZip(patched, dest()))).resolves.toBe('ARCHIVE_TOO_MANY_ENTRIES');
  });

  it('stops a zip bomb (300 MB of zeros) at the default 256 MiB and removes what it wrote', async () => {
    const chunk = Buffer.alloc(1 << 20);
    const bomb = await zipWith((z) =>
      z.addReadStream(
        Readable.from(
          (function* () {
            for (let i = 0; i < 300; i++) yield chunk;
          })(),
        ),
        'zeros.bin',
      ),
    );
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    const out = dest();
    await expect(codeOf(extractZip(bomb, out))).resolves.toBe('ARCHIVE_TOO_LARGE');
    expect(existsSync(out)).toBe(false);
  });

  it('counts real bytes, not the sizes the headers claim', async () => {
    const zip = await zipWith((z) => z.addBuffer(Buffer.alloc(3 << 20, 'a'), 'big.txt'));
    const patched = Buffer.from(zip);
    const cd = patched.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    patched.writeUInt32LE(10, cd + 24); // central directory: "10 bytes uncompressed"
    patched.writeUInt32LE(10, 22); // local header too
    expect((await listZip(patched))[0]?.size).toBe(10);
    await expect(codeOf(extractZip(patched, dest(), { maxBytes: 1 << 20 }))).resolves.toBe('ARCHIVE_TOO_LARGE');
  });

  it('counts bytes across all entries', async () => {
    const zip = await zipWith((z) => {
      for (let i = 0; i < 5; i++) z.addBuffer(Buffer.alloc(300_000, i), `part${i}.bin`);
    });
    await expect(codeOf(extractZip(zip, dest(), { maxBytes: 1_000_000 }))).resolves.toBe('ARCHIVE_TOO_LARGE');
    expect(await extractZip(zip, dest(), { maxBytes: 1_500_000 })).toHaveLength(5);
  });

  it('rejects what is not a zip, truncated or corrupt, with BAD_ARCHIVE', async () => {
    const good = await zipWith((z) => z.addBuffer(Buffer.alloc(50_000, 'z'), 'z.txt'));
    await expect(codeOf(extractZip(Buffer.from('definitely not a zip archive'), dest()))).resolves.toBe('BAD_ARCHIVE');
    await expect(codeOf(extractZip(Buffer.alloc(0), dest()))).resolves.toBe('BAD_ARCHIVE');
    await expect(codeOf(extractZip(good.subarray(0, good.length - 30), dest()))).resolves.toBe('BAD_ARCHIVE');
    await expect(codeOf(extractZip(join(root, 'missing.zip'), dest()))).resolves.toBe('BAD_ARCHIVE');
    const corrupt = Buffer.from(good);
    const dataAt = 30 + 'z.txt'.length; // right after the local header
    corrupt.fill(0xff, dataAt, dataAt + 40);
    await expect(codeOf(extractZip(corrupt, dest()))).resolves.toBe('BAD_ARCHIVE');
  });

  it('rejects an archive holding the same file twice', async () => {
    const zip = await zipWith((z) => {
      z.addBuffer(Buffer.from('one'), 'same.txt');
      z.addBuffer(Buffer.from('two'), 'same.txt');
    });
    await expect(codeOf(extractZip(zip, dest()))).resolves.toBe('BAD_ARCHIVE');
  });
});

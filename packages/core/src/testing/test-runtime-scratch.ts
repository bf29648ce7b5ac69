import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { PreparedFixture, RunOutcome, RuntimeHarness } from './test-runtime.js';

/**
 * What a hostile call does to its /tmp and output directory so that the next
 * call on the same warm instance might see it, or so that its own output files
 * might go uncounted. A warm server may skip emptying and counting when a
 * directory's stat says nothing changed since it was last seen empty: each
 * action here changes a directory in a way a weak check would miss (only
 * nested entries, the mtime set back, entries that come and go, links, moves).
 */
const ACTIONS: { name: string; sh: string; outputs: string[] }[] = [
  {
    // The instance's own /dev/shm (POSIX shared memory) outlives a call like /tmp does: emptied like it.
    name: 'a file and a directory in /dev/shm',
    sh: '(mkdir -p /dev/shm/d && echo x > /dev/shm/d/f && echo y > /dev/shm/f) 2>/dev/null || true',
    outputs: [],
  },
  {
    name: 'nested directories',
    sh: 'mkdir -p "$T/a/b/c" "$O/d/e" && echo x > "$T/a/b/c/f" && echo y > "$O/d/e/g"',
    outputs: ['d/e/g'],
  },
  {
    // The directory's mtime is put back to what it was: only its ctime (which no call can set) tells. Where the
    // call does not own the directory (Docker's /tmp and /output are root's), it cannot set the time at all.
    name: 'mtime restored after writing',
    sh:
      'mt=$(stat -c %y "$T"); mo=$(stat -c %y "$O"); echo x > "$T/f"; echo y > "$O/out.txt"; ' +
      '(touch -m -d "$mt" "$T"; touch -m -d "$mo" "$O") 2>/dev/null || true',
    outputs: ['out.txt'],
  },
  {
    name: 'files created then deleted, one kept',
    sh: 'echo 1 > "$T/gone" && rm "$T/gone" && echo 2 > "$T/kept" && echo 3 > "$O/gone" && rm "$O/gone"',
    outputs: [],
  },
  {
    // (Only /tmp gets a link: a sandbox may refuse hard-linked output files, which is its own rule.)
    name: 'hard links',
    sh: 'echo x > "$T/f" && ln "$T/f" "$T/link" && rm "$T/f" && echo y > "$O/o"',
    outputs: ['o'],
  },
  {
    name: 'renames of nested directories',
    sh: 'mkdir -p "$T/d/e" && echo x > "$T/d/e/f" && mv "$T/d" "$T/moved" && mkdir "$O/a" && echo y > "$O/a/f" && mv "$O/a" "$O/b"',
    outputs: ['b/f'],
  },
  {
    // Directories their owner may not list or write (where the call owns /tmp, /tmp itself too): the emptying
    // must not give up on them and leave their files to the next call.
    name: 'directories made unreadable and unwritable',
    sh:
      'mkdir -p "$T/locked/in" "$O/locked/in" && echo x > "$T/locked/in/f" && echo y > "$O/locked/in/f" && ' +
      'chmod 0 "$T/locked/in" "$T/locked" "$O/locked/in" "$O/locked" && echo z > "$T/top" && ' +
      '(chmod 0500 "$T" 2>/dev/null || true)',
    outputs: [],
  },
];

const PREAMBLE = 'T="${TMPDIR:-/tmp}"; O="$OUTPUT_DIR"; ';
const LIST = 'find "$T" "$O" ${NANOGRID_SHM_DIR:+"$NANOGRID_SHM_DIR"} -mindepth 1 | sort';

/** The regular files under `dir`, relative, sorted. */
async function filesIn(dir: string): Promise<string[]> {
  const names = await readdir(dir, { recursive: true });
  const files = await Promise.all(names.map(async (n) => ((await lstat(join(dir, n))).isFile() ? n : undefined)));
  return files.filter((n): n is string => n !== undefined).sort();
}

/**
 * A warm instance's /tmp and output directory: each call starts with both
 * empty and gets exactly the output files it wrote, whatever the call before
 * did to them. Warm mode only (a cold run gets fresh directories anyway).
 */
export function scratchCases(h: RuntimeHarness): void {
  if (h.mode !== 'warm') return;

  it('a warm call sees nothing of what an earlier call did to /tmp and the output directory, and counts its own outputs', async () => {
    const prepared = await h.prepare(h.fixtures.shell);
    const sh = async (p: PreparedFixture, script: string): Promise<RunOutcome & { out: string }> => {
      const outcome = await h.call(p, { sh: PREAMBLE + script });
      const result = h.expectOk(outcome) as { out: string; code: number };
      expect(result.code, `${script}: exit code`).toBe(0);
      return { ...outcome, out: result.out };
    };
    expect((await sh(prepared, LIST)).out).toBe('');
    for (const action of ACTIONS) {
      // Kernel timestamps are coarse (a tick, up to 10 ms): a server trusts a directory's stat only when it is
      // older than that. This wait lets the next call see both directories as settled, so the hostile call
      // after it runs where a server skips its listing.
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect((await sh(prepared, LIST)).out, `before: ${action.name}`).toBe('');
      const hostile = await sh(prepared, action.sh);
      expect(await filesIn(hostile.outputDir), `outputs of: ${action.name}`).toEqual(action.outputs);
      const next = await sh(prepared, LIST);
      expect(next.out, `after: ${action.name}`).toBe('');
      expect(await filesIn(next.outputDir), `outputs after: ${action.name}`).toEqual([]);
    }
  });
}

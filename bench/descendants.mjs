// The live descendants of a process, from one pass over /proc: the tree walk the warm-path benches share (each
// then sums its own CPU measure over them).
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Descendants of `rootPid` (not itself), each with the fields of its /proc/<pid>/stat after the command name
 * (`fields[1]` is the parent pid, `fields[11]`/`fields[12]` utime/stime in ticks).
 */
export function descendants(rootPid = process.pid) {
  const procs = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.push({ pid: Number(entry), ppid: Number(fields[1]), fields });
    } catch {
      // exited
    }
  }
  const mine = new Set([rootPid]);
  const found = [];
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs)
      if (!mine.has(p.pid) && mine.has(p.ppid)) {
        mine.add(p.pid);
        found.push(p);
        grew = true;
      }
  }
  return found;
}

import { spawnSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';

/** One process as `/proc/<pid>/stat` shows it. */
interface ProcStat {
  pid: number;
  /** `Z` for a zombie: dead, holding no memory, waiting to be reaped. */
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** Clock ticks since boot: with the pid, it tells a process from a later one reusing the pid. */
  startTime: string;
  rssPages: number;
}

function parseStat(text: string): ProcStat | undefined {
  // `comm` (field 2) may hold spaces and parentheses: split after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number(text.slice(0, text.indexOf(' ')));
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state); field N is f[N - 3].
  const ppid = Number(f[1]);
  const pgrp = Number(f[2]);
  const session = Number(f[3]);
  const startTime = f[19];
  const rssPages = Number(f[21]);
  if (!Number.isFinite(pid) || startTime === undefined || !Number.isFinite(rssPages)) return undefined;
  return { pid, state: f[0] ?? '?', ppid, pgrp, session, startTime, rssPages };
}

async function readAllStats(): Promise<ProcStat[]> {
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return [];
  }
  const stats = await Promise.all(
    names
      .filter((n) => /^\d+$/.test(n))
      .map(async (n) => {
        try {
          return parseStat(await readFile(`/proc/${n}/stat`, 'utf8'));
        } catch {
          return undefined; // exited between readdir and read
        }
      }),
  );
  return stats.filter((s): s is ProcStat => s !== undefined);
}

/** The kernel page size (RSS in /proc is counted in pages). Spawns `getconf`: call it once and keep it. */
export function pageSize(): number {
  const out = spawnSync('getconf', ['PAGESIZE'], { encoding: 'utf8' });
  const n = Number(out.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 4096;
}

/** True when this host has a Linux `/proc` to sample. */
export async function procAvailable(): Promise<boolean> {
  try {
    await readFile('/proc/self/stat', 'utf8');
    return true;
  } catch {
    return false;
  }
}

/**
 * The processes started by one run, followed through `/proc`: the root's
 * process group and session, its descendants, and every member seen before
 * that is still alive (a daemon that called `setsid()` and was reparented to
 * init stays tracked). Works for the bubblewrap case too: the processes in its
 * pid namespace are descendants of the bwrap process.
 */
export class ProcessTree {
  /** pid → start time of every member seen so far. */
  private readonly known = new Map<number, string>();

  constructor(
    readonly rootPid: number,
    private readonly pageBytes: number,
  ) {}

  /** Current members (pid list) and their summed resident memory in bytes. */
  async sample(): Promise<{ pids: number[]; rssBytes: number }> {
    const all = await readAllStats();
    const byParent = new Map<number, ProcStat[]>();
    for (const s of all) {
      const list = byParent.get(s.ppid);
      if (list) list.push(s);
      else byParent.set(s.ppid, [s]);
    }
    const root = this.rootPid;
    const stack = all.filter((s) => s.pid === root || s.pgrp === root || s.session === root || this.known.get(s.pid) === s.startTime);
    const members = new Map<number, ProcStat>();
    // iterative walk: a deep fork chain must not overflow the stack
    for (let s = stack.pop(); s; s = stack.pop()) {
      if (members.has(s.pid)) continue;
      members.set(s.pid, s);
      stack.push(...(byParent.get(s.pid) ?? []));
    }
    let pages = 0;
    this.known.clear();
    for (const s of members.values()) {
      this.known.set(s.pid, s.startTime);
      pages += s.rssPages;
    }
    const alive = [...members.values()].filter((s) => s.state !== 'Z').map((s) => s.pid);
    return { pids: alive, rssBytes: pages * this.pageBytes };
  }

  /**
   * SIGKILLs the process group, then every member found in `/proc`, a few
   * rounds so processes forked meanwhile go too. Never throws.
   */
  async killAll(): Promise<void> {
    tryKill(-this.rootPid);
    for (let round = 0; round < 5; round++) {
      const { pids } = await this.sample();
      if (pids.length === 0) return;
      for (const pid of pids) tryKill(pid);
    }
  }
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // ESRCH: already gone
  }
}

import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readSync, writeSync } from 'node:fs';

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
  /** utime + stime, clock ticks. */
  cpuTicks: number;
}

function parseStat(text: string): ProcStat | undefined {
  // `comm` (field 2) may hold spaces and parentheses: split after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number(text.slice(0, text.indexOf(' ')));
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state); field N is f[N - 3].
  const startTime = f[19];
  const rssPages = Number(f[21]);
  if (!Number.isFinite(pid) || startTime === undefined || !Number.isFinite(rssPages)) return undefined;
  const cpuTicks = Number(f[11]) + Number(f[12]);
  return {
    pid,
    state: f[0] ?? '?',
    ppid: Number(f[1]),
    pgrp: Number(f[2]),
    session: Number(f[3]),
    startTime,
    rssPages,
    cpuTicks,
  };
}

/** The kernel page size (RSS in /proc is counted in pages). Spawns `getconf`: call it once and keep it. */
export function pageSize(): number {
  const out = spawnSync('getconf', ['PAGESIZE'], { encoding: 'utf8' });
  const n = Number(out.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 4096;
}

/**
 * The processes started by one run, followed through `/proc`: the root, its
 * process group and session, and the descendants of any member. A member that
 * called `setsid()` and was reparented to init stays tracked once seen.
 * Works for the bubblewrap case too: the processes in its pid namespace are
 * descendants of the bwrap process.
 *
 * Cheap to call every 50 ms: a process that is not a member when first seen
 * can never become one (reparenting only goes to init, and the root leads its
 * own session), so only new pids and members have their stat file read after
 * the first sample. Reads are synchronous on purpose: a stat file reads in
 * microseconds, while the async path costs a thread-pool round trip per file.
 */
export class ProcessTree {
  /** pid → start time of every member alive at the last sample. */
  private readonly members = new Map<number, string>();
  /** pids seen that are not members. */
  private readonly strangers = new Set<number>();
  private readonly buf = Buffer.alloc(4096);
  /** Open `clear_refs` / `status` of members, for per-call peaks. */
  private readonly files = new Map<number, PeakFiles>();
  /** Members stopped by `stopAll`. */
  private readonly stopped = new Set<number>();
  /** The sandbox's own processes (see `setLaunchers`). */
  private readonly launchers = new Set<number>();
  /** Resident memory of the launchers at the last sample, bytes. */
  private launcherBytes = 0;

  constructor(
    readonly rootPid: number,
    private readonly pageBytes: number,
  ) {}

  private readStat(pid: number): ProcStat | undefined {
    let fd: number | undefined;
    try {
      fd = openSync(`/proc/${pid}/stat`, 'r');
      const n = readSync(fd, this.buf, 0, this.buf.length, 0);
      return parseStat(this.buf.toString('latin1', 0, n));
    } catch {
      return undefined; // exited meanwhile
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  private pids(): number[] {
    try {
      return readdirSync('/proc')
        .filter((name) => name.charCodeAt(0) >= 48 && name.charCodeAt(0) <= 57)
        .map(Number);
    } catch {
      return [];
    }
  }

  /** Live members (pids), their summed resident memory in bytes and CPU time used, in clock ticks (exited members' not counted). */
  sample(): { pids: number[]; rssBytes: number; cpuTicks: number } {
    const present = new Set(this.pids());
    for (const pid of this.strangers) if (!present.has(pid)) this.strangers.delete(pid);
    const current: ProcStat[] = [];
    let fresh: ProcStat[] = [];
    for (const pid of present) {
      if (this.strangers.has(pid)) continue;
      const s = this.readStat(pid);
      if (!s) continue;
      if (this.members.get(pid) === s.startTime) current.push(s);
      else fresh.push(s); // new, or a pid reused by another process
    }
    this.members.clear();
    for (const s of current) this.members.set(s.pid, s.startTime);
    // Admit new processes whose parent is a member, to a fixpoint (parents may be new too).
    const root = this.rootPid;
    for (let changed = true; changed && fresh.length > 0; ) {
      changed = false;
      const rest: ProcStat[] = [];
      for (const s of fresh) {
        if (s.pid === root || s.pgrp === root || s.session === root || this.members.has(s.ppid)) {
          this.members.set(s.pid, s.startTime);
          current.push(s);
          changed = true;
        } else rest.push(s);
      }
      fresh = rest;
    }
    for (const s of fresh) this.strangers.add(s.pid);
    let pages = 0;
    let ticks = 0;
    let launcherPages = 0;
    for (const s of current) {
      pages += s.rssPages;
      ticks += s.cpuTicks;
      if (this.launchers.has(s.pid)) launcherPages += s.rssPages;
    }
    this.launcherBytes = launcherPages * this.pageBytes;
    return {
      pids: current.filter((s) => s.state !== 'Z').map((s) => s.pid),
      rssBytes: pages * this.pageBytes,
      cpuTicks: ticks,
    };
  }

  /**
   * Marks the sandbox's own processes (bubblewrap's two, which only wait for
   * the run): they allocate nothing of a call's, so a call's peak counts their
   * resident memory at the last sample instead of a reset and a read of their
   * `status` each (~13 µs per process and call). Only pids the host started
   * or bubblewrap named: a process of the function cannot join them.
   */
  setLaunchers(pids: readonly number[]): void {
    for (const pid of pids) this.launchers.add(pid);
  }

  /**
   * Resets the peak resident memory (`VmHWM`) of the members known from the
   * last sample: a warm instance's next call is then measured on its own.
   * `5` in `clear_refs` does that (Linux ≥ 4.0); a process we may not touch
   * keeps its old mark, which only overstates. The files stay open per member
   * (one write and one pread per call instead of open/write/close each).
   */
  resetPeaks(): void {
    for (const f of this.peakFiles()) if (f.clear !== undefined) tryWrite(f.clear, '5');
  }

  /** Summed `VmHWM` of the members known from the last sample (launchers: their RSS then), bytes (0 when unreadable). */
  peakBytes(): number {
    let kb = 0;
    for (const f of this.peakFiles()) {
      if (f.status === undefined) continue;
      try {
        const n = readSync(f.status, this.buf, 0, this.buf.length, 0);
        const m = /^VmHWM:\s+(\d+) kB$/m.exec(this.buf.toString('latin1', 0, n));
        if (m) kb += Number(m[1]);
      } catch {
        // exited meanwhile
      }
    }
    return kb * 1024 + this.launcherBytes;
  }

  /** Closes the files kept open for peaks. */
  close(): void {
    for (const f of this.files.values()) closeFiles(f);
    this.files.clear();
  }

  private peakFiles(): PeakFiles[] {
    for (const [pid, f] of this.files) {
      if (this.members.get(pid) !== f.startTime || this.launchers.has(pid)) {
        closeFiles(f);
        this.files.delete(pid);
      }
    }
    const out: PeakFiles[] = [];
    for (const [pid, startTime] of this.members) {
      if (this.launchers.has(pid)) continue;
      let f = this.files.get(pid);
      if (!f) {
        f = { startTime, clear: tryOpen(`/proc/${pid}/clear_refs`, 'w'), status: tryOpen(`/proc/${pid}/status`, 'r') };
        // The pid may have been reused since the sample (another call's or a host process): check its start time
        // after the opens. A match means the sampled process was alive through them, so the fds are its own; an
        // fd of /proc/<pid> stays bound to its process (reads fail once it is gone), so this runs once per process.
        if (this.readStat(pid)?.startTime !== startTime) {
          closeFiles(f);
          continue;
        }
        this.files.set(pid, f);
      }
      out.push(f);
    }
    return out;
  }

  /**
   * SIGSTOPs every member, walking again until a walk finds no new one (a
   * stopped process cannot fork): the run is frozen while the host reads its
   * files. Never throws.
   */
  stopAll(): void {
    for (let round = 0; round < 20; round++) {
      const fresh = this.sample().pids.filter((pid) => !this.stopped.has(pid));
      if (fresh.length === 0) return;
      for (const pid of fresh) {
        tryKill(pid, 'SIGSTOP');
        this.stopped.add(pid);
      }
    }
  }

  /** SIGCONTs what `stopAll` stopped. */
  contAll(): void {
    for (const pid of this.stopped) tryKill(pid, 'SIGCONT');
    this.stopped.clear();
  }

  /**
   * SIGKILLs the process group, then every member found in `/proc`, a few
   * rounds so processes forked meanwhile go too. Never throws.
   */
  killAll(): void {
    tryKill(-this.rootPid);
    for (let round = 0; round < 5; round++) {
      const { pids } = this.sample();
      if (pids.length === 0) return;
      for (const pid of pids) tryKill(pid);
    }
  }
}

interface PeakFiles {
  startTime: string;
  clear: number | undefined;
  status: number | undefined;
}

function tryOpen(path: string, flags: string): number | undefined {
  try {
    return openSync(path, flags);
  } catch {
    return undefined;
  }
}

function tryWrite(fd: number, text: string): void {
  try {
    writeSync(fd, text);
  } catch {
    // the process is gone
  }
}

function closeFiles(f: PeakFiles): void {
  for (const fd of [f.clear, f.status]) {
    if (fd === undefined) continue;
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}

function tryKill(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: already gone
  }
}

/**
 * The hostile cases every sandbox is tried with: what the function does and
 * what holding means. testSandbox runs one test per case; docs/security.md's
 * table is rendered from this list and the suite's outcomes.
 */
export const HOSTILE_CASES = [
  {
    id: 'launcher-env',
    attack: "the function's env carries LD_PRELOAD / LD_DEBUG_OUTPUT pointing at host paths",
    holds: "the sandbox launcher (bwrap, the engine) never sees the function's variables; only the function does",
  },
  {
    id: 'capabilities',
    attack: 'reads CapEff / CapPrm / NoNewPrivs and its uid and gid inside',
    holds: 'no capabilities, a non-root uid and gid, no_new_privs set',
  },
  {
    id: 'remount',
    attack:
      'remounts /code and /usr writable (MS_REMOUNT + MS_BIND), also from a nested user namespace, then writes there',
    holds: "every remount and write fails; the host's code directory is unchanged",
  },
  {
    id: 'output-links-cold',
    attack:
      'leaves symlinks to host files, a FIFO and a directory link in /output, and a background process swapping a file for a link while the host copies',
    holds:
      'only regular files are copied, read through O_NOFOLLOW descriptors of a frozen run: no host file is ever handed out, the host never blocks',
  },
  {
    id: 'output-race-warm',
    attack:
      "a warm instance's thread swaps /output files and folders for links to host files after the handler returned (25 calls)",
    holds: 'the instance is stopped while its outputs are collected; no host file is ever handed out',
  },
  {
    id: 'warm-memory',
    attack: 'a thread keeps allocating after the handler returned (memory_mb=64)',
    holds: 'the instance is killed (or held under its limit) between calls, not left to grow',
  },
  {
    id: 'warm-cpu',
    attack: 'a thread spins after the handler returned',
    holds: 'the instance is killed (or frozen) instead of burning a core between calls',
  },
  {
    id: 'disk-quota',
    attack: 'writes past disk_mb to /tmp, then to /output, then anywhere else (/)',
    holds:
      'writes past the quota (/tmp and /output together) fail with ENOSPC inside the function; the rest is read-only',
  },
  {
    id: 'output-count',
    attack: 'leaves 10,001 files in /output',
    holds: 'the run fails OUTPUT_TOO_LARGE (the cap is 10,000 everywhere) and nothing is copied',
  },
  {
    id: 'partial-outputs',
    attack: 'writes outputs, then runs past its timeout',
    holds: 'nothing of the killed run reaches the output directory',
  },
  {
    id: 'host-paths',
    attack: 'provokes sandbox errors (missing command, missing code directory, a server that dies at start)',
    holds: "no message names a host path (the host's code, output or temp directories)",
  },
  {
    id: 'setsid-grandchild',
    attack: 'double-forks into a new session; the grandchild shows up only after its parent exited',
    holds: 'the grandchild dies with the run',
  },
] as const;

export type HostileCaseId = (typeof HOSTILE_CASES)[number]['id'];

/** What the suite saw for one case. */
export type HostileOutcome = 'holds' | 'not promised';

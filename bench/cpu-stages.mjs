// Where a warm call's CPU goes, per stage: the host's own CPU split by a CPU profile of its load phase, and the
// CPU of the processes around it read from /proc and the instances' cgroups (cgroup v1 cpuacct, as on this machine).
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Stages of the host, by the innermost frame of a sample that names one (a `writev` under Hono's response is HTTP,
 * under the warm channel it is the pipe). Patterns match `functionName url`.
 */
const STAGES = [
  ['pipe', /sandbox-docker\/dist|sandbox\/warm-|process-warm-pool|warm-pool-base|engine\/invoke\.js|interpret-run/],
  ['queue', /memory-queue|sqlite-queue|redis-queue|job-message|worker-loop|function-gate/],
  [
    'records',
    /memory-results|sqlite-results|redis-results|group-commit|job-service|executor\.js|watch-cancel|result-spill|telemetry\/|metrics\/|compose\.js|webhook|replicator/,
  ],
  ['registry', /function-registry|function-ref|function-store|code-cache/],
  ['http', /_http_|@hono|hono\/dist|host\/dist\/http|node:net |stream_base_commons|wait-signal/],
];

/** Shares of the profile's busy samples per stage (GC and unattributed apart), summing to 1. */
export function stageShares(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stageOf = new Map();
  const classify = (id) => {
    if (stageOf.has(id)) return stageOf.get(id);
    const n = byId.get(id);
    const name = n.callFrame.functionName;
    let stage;
    if (name === '(idle)') stage = 'idle';
    else if (name === '(garbage collector)') stage = 'gc';
    else {
      const key = `${name} ${n.callFrame.url}`;
      stage = STAGES.find(([, re]) => re.test(key))?.[0];
      if (!stage) stage = parent.has(id) ? classify(parent.get(id)) : 'other';
    }
    stageOf.set(id, stage);
    return stage;
  };
  const counts = {};
  for (const s of profile.samples) {
    const stage = classify(s);
    counts[stage] = (counts[stage] ?? 0) + 1;
  }
  delete counts.idle;
  const busy = Object.values(counts).reduce((a, b) => a + b, 0);
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / busy]));
}

const TICK_US = 10_000; // USER_HZ 100

/** User+system CPU of processes, µs (from /proc/<pid>/stat); gone processes count 0. */
export async function procCpuUs(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) * TICK_US;
    } catch {
      // exited
    }
  }
  return total;
}

/** Pids of processes whose command name is one of `names`. */
export async function pidsNamed(...names) {
  const pids = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '');
    if (names.includes(comm.trim())) pids.push(Number(entry));
  }
  return pids;
}

/** CPU of the Docker instances a host process started (label nanogrid.pid), µs, from their cgroups. */
export async function instancesCpuUs(hostPid) {
  const { stdout } = await run('docker', [
    'ps',
    '--filter',
    `label=nanogrid.pid=${hostPid}`,
    '--format',
    '{{.Label "nanogrid.run"}}',
  ]);
  let total = 0;
  for (const runId of stdout.split('\n').filter(Boolean)) {
    const ns = await readFile(`/sys/fs/cgroup/cpuacct/nanogrid/${runId}/cpuacct.usage`, 'utf8').catch(() => '0');
    total += Number(ns) / 1000;
  }
  return total;
}

/** The machine's CPU time, µs: busy (all but idle and iowait) and steal, from /proc/stat. */
export async function machineCpuUs() {
  const [line] = (await readFile('/proc/stat', 'utf8')).split('\n');
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = v;
  return {
    busy: (user + nice + system + irq + softirq) * TICK_US,
    idle: (idle + iowait) * TICK_US,
    steal: steal * TICK_US,
  };
}

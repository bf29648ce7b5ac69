import type Dockerode from 'dockerode';
import type { SandboxRunSpec } from '@nanogrid/core';
import type { NetworkPlan } from './docker-network.js';
import { LABEL } from './docker-orphans.js';

export interface ContainerLimits {
  runId: string;
  network: NetworkPlan;
  cpus: number;
  pidsLimit: number;
  tmpfsSizeMb: number;
  user: string;
  /** Labels the sandbox adds (worker, host, pid, run). */
  labels: Record<string, string>;
  /** Parent cgroup, set when peak memory is read from the host's cgroup files. */
  cgroupParent?: string;
}

/**
 * The container of one run, hardened:
 * - memory limit with no swap on top, CPU quota, pids limit (fork bombs);
 * - read-only root filesystem; writable places are a size-capped tmpfs at
 *   /tmp and two anonymous volumes, /code and /output. Volumes because the
 *   archive API refuses to write into a read-only rootfs and cannot see into
 *   a tmpfs, while a volume takes `putArchive` before start and gives
 *   `getArchive` after exit. /code is filled as root, so the function cannot
 *   change its code; /output is world-writable in the runtime images;
 * - non-root user, every capability dropped, no-new-privileges, private IPC;
 * - no network unless the policy allows it (docker-network.ts);
 * - the `none` log driver: output is read from the attach stream with caps,
 *   so a chatty function cannot fill the engine's disk with logs.
 */
export function containerSpec(spec: SandboxRunSpec, limits: ContainerLimits): Dockerode.ContainerCreateOptions {
  const memory = Math.max(6, Math.floor(spec.memoryMb)) * 1024 * 1024;
  // The contract's names come last: a function's env cannot move its output or home.
  const env: Record<string, string> = {
    ...spec.env,
    ...limits.network.env,
    OUTPUT_DIR: '/output',
    TMPDIR: '/tmp',
    HOME: '/tmp',
  };
  const withStdin = spec.stdin !== undefined;
  return {
    name: `nanogrid-${limits.runId}`,
    Image: spec.image,
    Cmd: spec.command,
    // Entrypoints baked into a custom image would wrap the runtime's command.
    Entrypoint: [],
    WorkingDir: '/code',
    User: limits.user,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: { ...spec.labels, [LABEL.marker]: '1', ...limits.labels },
    AttachStdin: withStdin,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: withStdin,
    StdinOnce: withStdin,
    Tty: false,
    NetworkDisabled: limits.network.networkMode === 'none',
    Volumes: { '/code': {}, '/output': {} },
    HostConfig: {
      Memory: memory,
      MemorySwap: memory,
      NanoCpus: Math.round(limits.cpus * 1e9),
      PidsLimit: limits.pidsLimit,
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${limits.tmpfsSizeMb}m,mode=1777` },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      IpcMode: 'private',
      NetworkMode: limits.network.networkMode,
      ExtraHosts: limits.network.extraHosts,
      LogConfig: { Type: 'none', Config: {} },
      AutoRemove: false,
      ...(limits.cgroupParent ? { CgroupParent: limits.cgroupParent } : {}),
    },
  };
}

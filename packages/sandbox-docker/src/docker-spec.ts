import type Dockerode from 'dockerode';
import type { SandboxRunSpec } from '@nanogrid/core';
import type { NetworkPlan } from './docker-network.js';
import { LABEL } from './docker-orphans.js';

export interface ContainerLimits {
  runId: string;
  network: NetworkPlan;
  cpus: number;
  pidsLimit: number;
  /** Space of /tmp and /output together, MiB (only /tmp's without `scratchBinds`). */
  diskMb: number;
  /** Binds of a per-run host tmpfs holding /tmp and /output (docker-scratch.ts); none: a tmpfs /tmp and an /output volume. */
  scratchBinds?: string[];
  /** Host directory bind-mounted read-only at /code (a local engine); none: an anonymous volume filled by the archive API. */
  codeMount?: string;
  user: string;
  /** Labels the sandbox adds (worker, host, pid, run). */
  labels: Record<string, string>;
  /** Parent cgroup, set when peak memory is read from the host's cgroup files. */
  cgroupParent?: string;
}

/**
 * The container of one run, hardened:
 * - memory limit with no swap on top, CPU quota, pids limit (fork bombs);
 * - read-only root filesystem; writable places are /tmp and /output. /code is
 *   a read-only bind of the run's own code directory on a local engine
 *   (`codeMount`), else an anonymous volume (the archive API refuses to write
 *   into a read-only rootfs) filled as root: the function cannot change its code.
 *   /tmp and /output are two directories of one host tmpfs of `diskMb`
 *   (docker-scratch.ts: bind mounts, so `getArchive` sees /output, which it
 *   cannot in a container's own tmpfs); where the host cannot mount, /tmp is
 *   a tmpfs of `diskMb` and /output an anonymous volume without a cap;
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
    // The container's own /dev/shm: a warm server empties it before each call, as TMPDIR.
    NANOGRID_SHM_DIR: '/dev/shm',
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
    Volumes: {
      ...(limits.codeMount ? {} : { '/code': {} }),
      ...(limits.scratchBinds ? {} : { '/output': {} }),
    },
    HostConfig: {
      Memory: memory,
      MemorySwap: memory,
      NanoCpus: Math.round(limits.cpus * 1e9),
      PidsLimit: limits.pidsLimit,
      ReadonlyRootfs: true,
      ...(limits.scratchBinds
        ? { Binds: limits.scratchBinds }
        : { Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${Math.max(1, Math.floor(limits.diskMb))}m,mode=1777` } }),
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      IpcMode: 'private',
      NetworkMode: limits.network.networkMode,
      ExtraHosts: limits.network.extraHosts,
      LogConfig: { Type: 'none', Config: {} },
      AutoRemove: false,
      ...(limits.codeMount
        ? { Mounts: [{ Type: 'bind', Source: limits.codeMount, Target: '/code', ReadOnly: true }] }
        : {}),
      ...(limits.cgroupParent ? { CgroupParent: limits.cgroupParent } : {}),
    },
  };
}

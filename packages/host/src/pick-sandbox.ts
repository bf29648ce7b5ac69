import {
  type BubblewrapStatus,
  bubblewrapStatus,
  isolatedProcessSandbox,
  type Logger,
  NanoGridError,
  type ProcessSandboxOptions,
  type Sandbox,
  type SandboxChoice,
  type SandboxPicker,
  type SandboxSettings,
} from '@nanogrid/core';
import { type DockerSandboxOptions, detectDocker, dockerSandbox, missingImages } from '@nanogrid/sandbox-docker';

/** What the host finds out about the machine before it picks; injected in tests. */
export interface SandboxProbe {
  /** Whether a Docker engine answers, and which of `images` it lacks. */
  docker(images: readonly string[]): Promise<{ answers: false } | { answers: true; missing: string[] }>;
  /** Whether bubblewrap can set up a sandbox here. */
  bubblewrap(): BubblewrapStatus;
}

export interface PickSandboxOptions {
  /** Options of the Docker sandbox (also where its engine is). @default {} */
  docker?: DockerSandboxOptions;
  /** Options of the process sandbox. @default {} */
  process?: ProcessSandboxOptions;
  /** How long the engine may take to answer the ping. @default 2000 */
  detectTimeoutMs?: number;
  /** Images the runtimes run in: `auto` takes Docker only when the engine has them. @default [] (any engine) */
  images?: readonly string[];
  /** How the machine is examined. @default the real engine ping, image list and bubblewrap probe */
  probe?: SandboxProbe;
  /** Where `NANOGRID_ALLOW_UNISOLATED` is read. @default process.env */
  env?: NodeJS.ProcessEnv;
}

function realProbe(opts: PickSandboxOptions): SandboxProbe {
  const { socketPath, host, port, protocol } = opts.docker ?? {};
  const conn = { socketPath, host, port, protocol };
  return {
    async docker(images) {
      if (!(await detectDocker({ ...conn, timeoutMs: opts.detectTimeoutMs ?? 2000 }))) return { answers: false };
      return { answers: true, missing: await missingImages(images, conn) };
    },
    bubblewrap: () => bubblewrapStatus(opts.process?.path),
  };
}

/**
 * The sandbox a worker uses, said once at start-up:
 * - `docker`: the Docker sandbox; fails with SANDBOX_ERROR when the engine does not answer;
 * - `process`: host processes inside bubblewrap;
 * - `auto`: Docker when the engine answers and has the runtimes' images (some
 *   missing: a warning), the process sandbox under bubblewrap otherwise.
 * When neither isolates, it throws SANDBOX_UNAVAILABLE naming the fixes, unless
 * `isolation: 'none'` (or NANOGRID_ALLOW_UNISOLATED=1) allows plain host processes.
 */
export async function pickSandbox(
  choice: SandboxChoice | SandboxSettings,
  logger: Logger,
  opts: PickSandboxOptions = {},
): Promise<Sandbox> {
  const settings: SandboxSettings = typeof choice === 'string' ? { kind: choice } : choice;
  const probe = opts.probe ?? realProbe(opts);
  const { socketPath, host, port } = opts.docker ?? {};
  const where = socketPath ?? (host ? `${host}:${port ?? ''}` : (process.env.DOCKER_HOST ?? '/var/run/docker.sock'));
  const images = opts.images ?? [];
  const useProcess = (why: string, reasons: string[] = []) => {
    const env = opts.env ?? process.env;
    const sandbox = isolatedProcessSandbox(settings, probe.bubblewrap(), { logger, ...opts.process, env, reasons });
    logger.info(`sandbox: process (${why})`, { isolated: sandbox.isolated });
    return sandbox;
  };
  if (settings.kind === 'process') return useProcess('chosen in the config');

  const engine = await probe.docker(images);
  if (!engine.answers && settings.kind === 'docker') {
    throw new NanoGridError(
      'SANDBOX_ERROR',
      `the sandbox "docker" was chosen but no Docker engine answers at ${where}: start one (scripts/ensure-docker.sh) or choose sandbox "auto" or "process"`,
      { plugin: 'docker-sandbox', details: { engine: where } },
    );
  }
  if (!engine.answers)
    return useProcess(`no Docker engine answers at ${where}`, [`no Docker engine answers at ${where}`]);
  if (settings.kind === 'auto' && images.length > 0 && engine.missing.length === images.length) {
    const why = `the Docker engine at ${where} has none of the runtime images (build them with scripts/build-images.sh)`;
    return useProcess(why, [why]);
  }
  if (engine.missing.length > 0) {
    logger.warn(
      'sandbox: the Docker engine lacks some runtime images; their functions fail until they are built (scripts/build-images.sh)',
      {
        missing: engine.missing.join(', '),
      },
    );
  }
  const sandbox = dockerSandbox({ logger, ...opts.docker });
  logger.info(`sandbox: docker (engine at ${where}${settings.kind === 'auto' ? ', picked by "auto"' : ''})`, {
    worker: sandbox.workerId,
  });
  return sandbox;
}

/**
 * The picker `composeNanoGrid` takes: the engine's output cap, warm options
 * and runtime images go to whichever sandbox is picked (the Docker sandbox
 * stops copying /output at the engine's per-job cap instead of its own).
 */
export function sandboxPicker(extra: PickSandboxOptions = {}): SandboxPicker {
  return (settings, ctx) =>
    pickSandbox(settings, ctx.logger, {
      images: ctx.images,
      ...extra,
      docker: { logger: ctx.logger, maxOutputBytes: ctx.maxOutputBytes, warm: ctx.warm, ...extra.docker },
      process: { warm: ctx.warm, ...extra.process },
    });
}

import {
  type Logger,
  type ProcessSandboxOptions,
  type Sandbox,
  type SandboxChoice,
  type SandboxPicker,
  NanoGridError,
  processSandbox,
} from '@nanogrid/core';
import { type DockerSandboxOptions, detectDocker, dockerSandbox } from '@nanogrid/sandbox-docker';

export interface PickSandboxOptions {
  /** Options of the Docker sandbox (also where its engine is). @default {} */
  docker?: DockerSandboxOptions;
  /** Options of the process sandbox. @default {} */
  process?: ProcessSandboxOptions;
  /** How long the engine may take to answer the ping. @default 2000 */
  detectTimeoutMs?: number;
}

/**
 * The sandbox a worker uses, said once at start-up:
 * - `docker`: the Docker sandbox; fails with SANDBOX_ERROR when the engine does not answer;
 * - `process`: host processes (bubblewrap when available);
 * - `auto`: Docker when the engine answers a ping, the process sandbox otherwise.
 */
export async function pickSandbox(
  choice: SandboxChoice,
  logger: Logger,
  opts: PickSandboxOptions = {},
): Promise<Sandbox> {
  const { socketPath, host, port, protocol } = opts.docker ?? {};
  const where = socketPath ?? (host ? `${host}:${port ?? ''}` : (process.env.DOCKER_HOST ?? '/var/run/docker.sock'));
  const useProcess = (why: string) => {
    const sandbox = processSandbox({ logger, ...opts.process });
    logger.info(`sandbox: process (${why})`, { isolated: sandbox.isolated });
    return sandbox;
  };
  if (choice === 'process') return useProcess('chosen in the config');

  const answers = await detectDocker({ socketPath, host, port, protocol, timeoutMs: opts.detectTimeoutMs ?? 2000 });
  if (!answers) {
    if (choice === 'docker') {
      throw new NanoGridError(
        'SANDBOX_ERROR',
        `the sandbox "docker" was chosen but no Docker engine answers at ${where}: start one (scripts/ensure-docker.sh) or choose sandbox "auto" or "process"`,
        { plugin: 'docker-sandbox', details: { engine: where } },
      );
    }
    return useProcess(`no Docker engine answers at ${where}`);
  }
  const sandbox = dockerSandbox({ logger, ...opts.docker });
  logger.info(`sandbox: docker (engine at ${where}${choice === 'auto' ? ', picked by "auto"' : ''})`, {
    worker: sandbox.workerId,
  });
  return sandbox;
}

/**
 * The picker `composeNanoGrid` takes: the engine's output cap and warm options
 * go to whichever sandbox is picked (the Docker sandbox stops copying /output
 * at the engine's per-job cap instead of its own).
 */
export function sandboxPicker(extra: PickSandboxOptions = {}): SandboxPicker {
  return (choice, ctx) =>
    pickSandbox(choice, ctx.logger, {
      ...extra,
      docker: { logger: ctx.logger, maxOutputBytes: ctx.maxOutputBytes, warm: ctx.warm, ...extra.docker },
      process: { warm: ctx.warm, ...extra.process },
    });
}

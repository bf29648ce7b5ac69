import type { SandboxChoice, SandboxSettings } from '../config.js';
import { NanoGridError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Sandbox } from '../plugins/sandbox.js';
import { probeBwrap } from './bwrap.js';
import { findExecutable } from './find-executable.js';
import { type ProcessSandboxOptions, processSandbox } from './process-sandbox.js';

/** Set to `1`, it lets functions run unisolated when nothing can isolate them (as `isolation: 'none'` does). */
export const ALLOW_UNISOLATED_ENV = 'NANOGRID_ALLOW_UNISOLATED';

/** The config's `sandbox` when it is a choice (a string or settings); undefined for a sandbox object. */
export function sandboxSettings(
  sandbox: Sandbox | SandboxChoice | SandboxSettings | undefined,
): SandboxSettings | undefined {
  if (sandbox === undefined) return { kind: 'auto' };
  if (typeof sandbox === 'string') return { kind: sandbox };
  return 'kind' in sandbox ? sandbox : undefined;
}

/** True when the config or the environment accepts functions running as plain host processes. */
export function allowsUnisolated(settings: SandboxSettings, env: NodeJS.ProcessEnv = process.env): boolean {
  return settings.isolation === 'none' || env[ALLOW_UNISOLATED_ENV] === '1';
}

export type BubblewrapStatus = { ok: true; path: string } | { ok: false; reason: string };

/** Whether bubblewrap is on the PATH and can set up a sandbox here (it runs `true` inside one). */
export function bubblewrapStatus(path: string = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'): BubblewrapStatus {
  const found = findExecutable('bwrap', path.split(':').filter(Boolean));
  if (!found) return { ok: false, reason: 'bubblewrap (bwrap) is not on the PATH' };
  const probe = probeBwrap(found);
  return probe.ok
    ? { ok: true, path: found }
    : { ok: false, reason: `bubblewrap (${found}) does not work here: ${probe.reason}` };
}

/** The start-up error when nothing isolates runs and unisolated runs were not allowed. */
export function noIsolationError(reasons: readonly string[]): NanoGridError {
  return new NanoGridError(
    'SANDBOX_UNAVAILABLE',
    `no sandbox can isolate functions on this host (${reasons.join('; ')}), so the worker does not start. ` +
      'Fix: start a Docker engine with the runtime images (scripts/ensure-docker.sh, then scripts/build-images.sh), ' +
      'or install bubblewrap (apt-get install bubblewrap). To run trusted code as plain host processes instead, ' +
      `set sandbox: { kind: 'process', isolation: 'none' } in nanogrid.config.ts or ${ALLOW_UNISOLATED_ENV}=1.`,
    { plugin: 'sandbox', details: { reasons: [...reasons] } },
  );
}

/**
 * The process sandbox under `settings`: inside bubblewrap when `bubblewrap`
 * says it works; otherwise plain host processes if unisolated runs are allowed
 * (with a warning), else `noIsolationError` with `reasons` and bubblewrap's own.
 */
export function isolatedProcessSandbox(
  settings: SandboxSettings,
  bubblewrap: BubblewrapStatus,
  opts: ProcessSandboxOptions & { logger: Logger; env?: NodeJS.ProcessEnv; reasons?: readonly string[] },
): Sandbox {
  const { env, reasons = [], ...sandboxOpts } = opts;
  if (bubblewrap.ok) return processSandbox({ ...sandboxOpts, bwrap: true });
  if (!allowsUnisolated(settings, env)) throw noIsolationError([...reasons, bubblewrap.reason]);
  const why = settings.isolation === 'none' ? "isolation: 'none' in the config" : `${ALLOW_UNISOLATED_ENV}=1`;
  opts.logger.warn(`sandbox: functions run UNISOLATED as host processes, allowed by ${why}`, {
    reasons: [...reasons, bubblewrap.reason].join('; '),
  });
  return processSandbox({ ...sandboxOpts, bwrap: false });
}

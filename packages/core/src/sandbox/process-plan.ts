import { realpathSync } from 'node:fs';
import { dirname, sep } from 'node:path';
import { NanoGridError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { NetworkPolicy } from '../function-meta.js';
import { BWRAP_CODE_DIR, BWRAP_OUTPUT_DIR, BWRAP_TMP_DIR, SYSTEM_DIRS, argsBlock, bwrapArgs } from './bwrap.js';
import { findExecutable } from './find-executable.js';

/** The command to exec and the environment of one run. */
export interface ProcessPlan {
  file: string;
  args: string[];
  env: Record<string, string>;
  /** bubblewrap's own arguments, handed over on fd 5 (`--args 5`) so no command line shows the run's env. */
  argsBlock?: Buffer;
}

/** What a run is planned from. */
export interface PlanRequest {
  command: string[];
  codeDir: string;
  env: Record<string, string>;
  network: NetworkPolicy;
  diskBytes: number;
  /** Plain runs: the host directories the run writes into. */
  outputDir: string;
  tmpDir: string;
  /**
   * bubblewrap: run the command under a shell that reports its status on fd 4
   * and then waits, so the host can collect the outputs from the run's mount
   * namespace before it goes away.
   */
  holder: boolean;
}

/** Closes the fds meant for bubblewrap, runs the command without fd 4, reports its status there, then waits to be killed. */
const HOLDER = 'exec 5<&-; "$@" 4>&-; echo $? >&4; exec 4>&- 1>&- 2>&- 0<&-; exec sleep 2147483647';

export interface PlannerOptions {
  hostPath: string[];
  bindPaths: string[];
  lang: string;
  logger: Logger;
  /** `nice -n N` (absolute path first) or empty. */
  nicePrefix: string[];
}

function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function notFound(command: string, isolated: boolean): NanoGridError {
  const hint = isolated ? ' (inside bubblewrap only system directories and `bindPaths` are visible)' : '';
  // The PATH searched is in the details (for the operator), never in the message a client may see.
  return new NanoGridError(
    'SANDBOX_ERROR',
    `the command \`${command}\` was not found on this host: install it, or put it on the PATH of the process sandbox${hint}`,
    {
      plugin: 'process',
    },
  );
}

/** Plans runs as plain host processes, or inside bubblewrap when `bwrapPath` is given. */
export function planner(opts: PlannerOptions, bwrapPath: string | undefined): (req: PlanRequest) => ProcessPlan {
  const { hostPath, bindPaths, lang, logger } = opts;
  const niced = (p: ProcessPlan): ProcessPlan =>
    opts.nicePrefix.length > 0
      ? { ...p, file: opts.nicePrefix[0]!, args: [...opts.nicePrefix.slice(1), p.file, ...p.args] }
      : p;

  const plain = (req: PlanRequest): ProcessPlan => {
    const [name, ...rest] = req.command as [string, ...string[]];
    const file = findExecutable(name, hostPath, req.codeDir);
    if (!file) throw notFound(name, false);
    const env = {
      PATH: hostPath.join(':'),
      LANG: lang,
      ...req.env,
      OUTPUT_DIR: req.outputDir,
      TMPDIR: req.tmpDir,
      HOME: req.tmpDir,
    };
    return niced({ file, args: rest, env });
  };

  const isolated = (bwrap: string, req: PlanRequest): ProcessPlan => {
    const [name, ...rest] = req.command as [string, ...string[]];
    const visible = [...SYSTEM_DIRS, ...bindPaths, req.codeDir];
    const innerPath = hostPath.filter((d) => visible.some((root) => isUnder(d, root)));
    for (const d of ['/usr/local/bin', '/usr/bin', '/bin']) if (!innerPath.includes(d)) innerPath.push(d);
    const extra = [...bindPaths];
    let file = findExecutable(name, innerPath, req.codeDir);
    if (file && !visible.some((root) => isUnder(file!, root))) file = undefined;
    if (!file) {
      // Found only outside the system dirs (nvm, pyenv …): bind its install prefix read-only.
      const onHost = findExecutable(name, hostPath, req.codeDir);
      if (!onHost) throw notFound(name, true);
      file = realpathSync(onHost);
      const binDir = dirname(file);
      const prefix = dirname(binDir);
      // never expose a whole home directory or /: a shallow prefix binds only the binary's own dir
      extra.push(prefix.split('/').filter(Boolean).length >= 2 ? prefix : binDir);
      innerPath.unshift(binDir);
      logger.debug?.('process sandbox: binding a toolchain outside the system directories', {
        command: name,
        path: extra.at(-1),
      });
    }
    // A program of the code directory (./main) is seen at /code inside.
    if (isUnder(file, req.codeDir)) file = BWRAP_CODE_DIR + file.slice(req.codeDir.length);
    const env = {
      PATH: innerPath.join(':'),
      LANG: lang,
      ...req.env,
      OUTPUT_DIR: BWRAP_OUTPUT_DIR,
      TMPDIR: BWRAP_TMP_DIR,
      HOME: BWRAP_TMP_DIR,
      // The run's own /dev/shm (bwrap.ts): a warm server empties it before each call, as TMPDIR.
      NANOGRID_SHM_DIR: '/dev/shm',
    };
    const command = req.holder ? ['/bin/sh', '-c', HOLDER, 'sh', file, ...rest] : [file, ...rest];
    const options = [
      ...bwrapArgs({ codeDir: req.codeDir, diskBytes: req.diskBytes, network: req.network, extraReadOnly: extra, env }),
      // bwrap writes {"child-pid": n} then {"exit-code": n} there: the pid's root is the run's, the exit tells a setup failure
      '--json-status-fd',
      '3',
    ];
    // bubblewrap starts with an empty environment (nothing of the function's reaches the launcher's loader) and
    // reads its options, `--setenv` among them, from fd 5: no command line shows the function's variables.
    return niced({ file: bwrap, args: ['--args', '5', '--', ...command], env: {}, argsBlock: argsBlock(options) });
  };

  return (req) => (bwrapPath ? isolated(bwrapPath, req) : plain(req));
}

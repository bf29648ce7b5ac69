/**
 * Environment names a function may not set at deploy. Two kinds:
 * - the function contract's own (the sandbox and the engine set them per run:
 *   a function's value would be ignored or, worse, confuse its bootstrap);
 * - names that change what the loader, the C library, a shell or a runtime
 *   loads or runs before the function's code does (glibc's list of variables
 *   it drops for setuid programs, and the runtimes' search paths and startup
 *   hooks). They would run code in the bootstrap itself, and outside a
 *   sandbox in every program the run starts.
 */
/** The names every run gets from the sandbox and the engine (the function contract, Lambda's). */
const CONTRACT_NAMES = [
  'PAYLOAD',
  'HANDLER',
  'JOB_ID',
  'FUNCTION_ID',
  'FUNCTION_NAME',
  'FUNCTION_VERSION',
  'AI_ENDPOINT',
  'OUTPUT_DIR',
  'TMPDIR',
  'HOME',
  'PATH',
  // Lambda's, set per run (lambda-env.ts)
  '_HANDLER',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
];

export const RESERVED_ENV_NAMES: ReadonlySet<string> = new Set([
  ...CONTRACT_NAMES,
  // the C library (glibc's unsecure variables besides LD_*)
  'GCONV_PATH',
  'GETCONF_DIR',
  'HOSTALIASES',
  'LOCALDOMAIN',
  'LOCPATH',
  'MALLOC_TRACE',
  'NIS_PATH',
  'NLSPATH',
  'RESOLV_HOST_CONF',
  'RES_OPTIONS',
  'TZDIR',
  // shells
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'IFS',
  'CDPATH',
  'PS4',
  // Python
  'PYTHONPATH',
  'PYTHONHOME',
  'PYTHONSTARTUP',
  'PYTHONUSERBASE',
  'PYTHONPLATLIBDIR',
  'PYTHONEXECUTABLE',
  'PYTHONINSPECT',
  'PYTHONBREAKPOINT',
  'PYTHONSAFEPATH',
  'PYTHONNOUSERSITE',
  // Node.js
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_REPL_EXTERNAL_MODULE',
  'NODE_ICU_DATA',
  // Go and compilers used by builds
  'GOROOT',
  'GOPATH',
  'GOFLAGS',
  'GOTOOLDIR',
  'GCC_EXEC_PREFIX',
  'COMPILER_PATH',
  'LIBRARY_PATH',
  'CPATH',
]);

/** Prefixes no function variable may start with: the loader's, and the engine's own. */
export const RESERVED_ENV_PREFIXES: readonly string[] = ['LD_', 'NANOGRID_', 'AWS_LAMBDA_', '_NANOGRID'];

/** Why `name` may not be set by a function, or undefined when it may. */
export function reservedEnvReason(name: string): string | undefined {
  const upper = name.toUpperCase();
  const prefix = RESERVED_ENV_PREFIXES.find((p) => upper.startsWith(p));
  if (prefix === 'LD_') return 'it changes what the dynamic loader loads';
  if (prefix) return `names starting with ${prefix} belong to NanoGrid`;
  if (!RESERVED_ENV_NAMES.has(upper)) return undefined;
  return CONTRACT_NAMES.includes(upper)
    ? 'the sandbox sets it for every run (the function contract)'
    : 'it changes what the loader, a shell or the runtime loads before the function runs';
}

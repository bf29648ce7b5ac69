import { text } from 'node:stream/consumers';
import type { CliIo } from './client-context.js';
import { deployCommand } from './deploy-command.js';
import { aliasCommand, lsCommand, rmCommand, versionsCommand } from './function-commands.js';
import { invokeCommand, logsCommand, statusCommand } from './job-commands.js';
import { cancelCommand, jobsCommand } from './job-list-commands.js';
import { statsCommand, systemCommand } from './dashboard-commands.js';

type ClientCommand = (args: string[], io: CliIo, env: NodeJS.ProcessEnv) => Promise<number>;

/** The commands that talk to a running host over HTTP (through @nanogrid/client). */
export const CLIENT_COMMANDS: Record<string, ClientCommand> = {
  deploy: deployCommand,
  invoke: (args, io, env) => invokeCommand(args, io, env, () => text(process.stdin)),
  status: statusCommand,
  logs: logsCommand,
  cancel: cancelCommand,
  jobs: jobsCommand,
  ls: lsCommand,
  rm: rmCommand,
  versions: versionsCommand,
  alias: aliasCommand,
  stats: statsCommand,
  system: systemCommand,
};

export const CLIENT_USAGE = `Client commands (talk to a host over HTTP):
  deploy <file|dir>      Deploy a source file, a .zip or a directory (zipped; skips .git, node_modules,
                         __pycache__ and what .nanogridignore lists; defaults from its nanogrid.json).
                         Deploying an existing name makes its next version.
    --name <n>           function name (default: nanogrid.json "name", else the file/directory name)
    --runtime <r>        python3.11, nodejs20.x, cpp, go … (default: from the source files)
    --handler <h>        module.function (default: the runtime's)
    --timeout <s>        seconds      --memory <mb>      --disk <mb>      --max-concurrency <n>
    --public             its HTTP endpoint /fn/<name> answers without an API key
    --env KEY=VALUE      repeatable   --network none|ai|internet
    --callback-url <url> default completion webhook of its jobs (--callback-format json|slack)
  invoke <function>      Run a function and print its result (<function>: name, name:3, name:alias or id)
    --data <json|@file>  the payload (@- reads stdin; default {})
    --async              queue it and print the job id
    --callback-url <url> POST the final job record there when it ends (--callback-format json|slack)
  status <job>           Show a job
  logs <job>             Print a job's logs   (--follow: its lines as they come, until it ends)
  cancel <job>           Cancel a pending or running job (a running one is killed)
  jobs                   List recent jobs, newest first
    --function <f>  --status <s>  --since <iso time>  --limit <n>  --cursor <next page>
  ls                     List functions (latest versions)
  rm <function>          Delete a function (name:3 deletes one version)
  versions <function>    List a function's versions and aliases
  alias <function> <alias> <version>   Point an alias at a version (--delete instead of a version: remove it)
  stats [function]       Invocations and errors of every function; with one: its totals, p50/p95,
                         cold/warm starts and peak memory per bucket   (--window 1h  --step <s>)
  system                 Controllers and workers seen, queue depth, desired workers, sandbox, backends

  Every client command takes --url <url> (env NANOGRID_URL, default http://localhost:8080),
  --api-key <key> (env NANOGRID_API_KEY) and --json (machine-readable output on stdout).

Exit status: 0 done · 1 the job failed (or a local error) · 2 usage error ·
             3 the API refused the request (4xx) · 4 host unreachable or failing (5xx)
`;

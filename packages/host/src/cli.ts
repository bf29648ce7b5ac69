#!/usr/bin/env node
import { runCli } from './cli-main.js';

// A reader that went away (`nanogrid stats … | head`) has all it wanted: end quietly, as Unix tools do on SIGPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
}

const code = await runCli(process.argv.slice(2));
if (code !== undefined) process.exitCode = code;

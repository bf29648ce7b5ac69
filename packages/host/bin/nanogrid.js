#!/usr/bin/env node
// The `nanogrid` command. This file is in the repository (not built), so the bin
// link that the package manager makes at install time, before `tsc -b` has built
// dist/, points at something that exists; it loads the build when run.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write(
    'nanogrid: the host package is not built yet; run "npm run build" (or "npm run demo") in the repository first\n',
  );
  process.exit(1);
}
await import(cli.href);

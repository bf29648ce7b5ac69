#!/bin/sh
# Installs pnpm (from the npm registry) when it is missing, then the workspace's
# dependencies from the lockfile. Quick when everything is already in place.
set -e
if ! command -v pnpm >/dev/null 2>&1; then
  echo "setup: installing pnpm 10 from the npm registry" >&2
  npm install -g pnpm@10 --loglevel=error
fi
pnpm install --frozen-lockfile --prefer-offline --reporter=silent

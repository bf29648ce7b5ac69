#!/usr/bin/env bash
# docker-compose.yml brought up for real, offline, and checked end to end:
#   1. the images it needs are built from Debian packages (scripts/compose-images.sh:
#      kept when their inputs did not change, so a second run builds nothing);
#   2. scripts/compose-e2e.mjs brings the topology up under its own project name on
#      free loopback ports, deploys, runs sync through controller-1 and async through
#      controller-2, SIGKILLs worker-1's container mid-job (the job completes on
#      worker-2), restarts worker-1, and takes everything down (down -v), checking
#      that nothing of the project is left.
# Exits non-zero on any failure, saying which check failed, with the services' logs.
#
#   scripts/compose-e2e.sh
#
# Environment:
#   NANOGRID_COMPOSE      the compose command. Default: docker-compose (Debian's), else `docker compose`
#   NANOGRID_E2E_PROJECT  compose project name. Default: nanogrid-e2e-<pid>
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "compose-e2e: $*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

started=$SECONDS
bash scripts/ensure-docker.sh || fail "no Docker engine"
if [ -z "${NANOGRID_COMPOSE:-}" ]; then
  if command -v docker-compose >/dev/null 2>&1; then NANOGRID_COMPOSE=docker-compose
  elif docker compose version >/dev/null 2>&1; then NANOGRID_COMPOSE="docker compose"
  else fail "no compose: apt-get install -y docker-compose (Debian's, 1.29) or the compose v2 plugin"
  fi
fi
export NANOGRID_COMPOSE
say "using $($NANOGRID_COMPOSE version 2>/dev/null | head -n 1)"

bash scripts/compose-images.sh || fail "building the images failed"
images=$((SECONDS - started))
say "images ready in ${images}s"

status=0
node scripts/compose-e2e.mjs || status=$?
say "total ${SECONDS}s from start (images ${images}s)"
[ "$status" = 0 ] || fail "a check failed (see above)"

#!/usr/bin/env bash
# Builds every image docker-compose.yml needs, OFFLINE (no image registry):
#   - nanogrid/redis:7 and nanogrid/host-base:20 (Debian's redis-server and nodejs)
#     and the runtime images the workers start, by scripts/build-images.sh;
#   - nanogrid/host:dev, `docker build` of deploy/Dockerfile FROM the local
#     host-base, holding this workspace as built here (setup + `tsc -b` first).
# Each image is kept while the hash of its inputs is unchanged (label
# nanogrid.inputs): a second run with nothing changed builds nothing.
#
#   scripts/compose-images.sh           # build what is missing or stale
#   scripts/compose-images.sh --force   # rebuild nanogrid/host:dev anyway
#
# Environment:
#   NANOGRID_COMPOSE_RUNTIMES  runtime images to make sure of ('' for none). Default: python,node
#   NANOGRID_HOST_IMAGE        tag of the host image. Default: nanogrid/host:dev
set -euo pipefail
cd "$(dirname "$0")/.."

RUNTIMES="${NANOGRID_COMPOSE_RUNTIMES-python,node}"
HOST_IMAGE="${NANOGRID_HOST_IMAGE:-nanogrid/host:dev}"
BASE_IMAGE=nanogrid/host-base:20

say() { echo "compose-images: $*" >&2; }
fail() { say "ERROR: $*"; exit 1; }

force=0
case "${1:-}" in
  --force | -f) force=1 ;;
  "") ;;
  -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'; exit 0 ;;
  *) fail "unknown argument '$1' (try --help)" ;;
esac

bash scripts/build-images.sh --only "${RUNTIMES:+$RUNTIMES,}host-base,redis"

# The image holds the built workspace: make sure it is installed and compiled.
sh scripts/setup.sh
node_modules/.bin/tsc -b || fail "tsc -b failed: the workspace does not build"

# Inputs of the host image: its base, its Dockerfile and ignore list, the lockfile
# (node_modules follow it), the root files, deploy/, scripts/ and every package
# (sources, compiled dist/, bin/, package.json; not its node_modules or tests).
inputs_hash() {
  {
    docker image inspect --format '{{.Id}}' "$BASE_IMAGE"
    find deploy scripts .dockerignore pnpm-lock.yaml pnpm-workspace.yaml package.json packages \
      \( -name node_modules -o -path 'packages/*/test' -o -name '*.tsbuildinfo' \) -prune -o -type f -print0 \
      | LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
}
want=$(inputs_hash)
have=$(docker image inspect --format '{{index .Config.Labels "nanogrid.inputs"}}' "$HOST_IMAGE" 2>/dev/null || true)
if [ "$force" = 0 ] && [ "$have" = "$want" ]; then
  say "$HOST_IMAGE is up to date (use --force to rebuild)"
  exit 0
fi

say "building $HOST_IMAGE (inputs $want) ..."
started=$SECONDS
log=/tmp/compose-images-host.log
old=$(docker image inspect --format '{{.Id}}' "$HOST_IMAGE" 2>/dev/null || true)
if ! docker build -f deploy/Dockerfile --build-arg "BASE=$BASE_IMAGE" --label "nanogrid.inputs=$want" -t "$HOST_IMAGE" . >"$log" 2>&1; then
  tail -n 20 "$log" >&2 || true
  fail "building $HOST_IMAGE failed (log: $log)"
fi
# A rebuild leaves the old image untagged: drop it unless a container still uses it.
if [ -n "$old" ] && [ "$old" != "$(docker image inspect --format '{{.Id}}' "$HOST_IMAGE")" ]; then
  docker rmi "$old" >/dev/null 2>&1 || true
fi
size=$(docker image inspect "$HOST_IMAGE" --format '{{.Size}}' | awk '{printf "%d MB", $1/1000/1000}')
say "built $HOST_IMAGE in $((SECONDS - started))s ($size)"

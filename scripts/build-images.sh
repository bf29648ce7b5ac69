#!/usr/bin/env bash
# Builds NanoGrid's runtime images OFFLINE, from Debian packages only: no image
# registry is needed (air-gapped installs, CI machines without Docker Hub).
# Each image is `mmdebstrap --variant=apt --include=<packages> bookworm` piped
# straight into `docker import`, with the config a sandbox expects:
#   WORKDIR /code, a world-writable /output, USER 65534:65534 (nobody),
#   HOME=/tmp, LANG=C.UTF-8. Docs, man pages, locales and apt lists are left out.
# Each image is labelled nanogrid.inputs=<sha256 of its line below and of the
# build recipe>: an image whose label differs (a package added, the recipe
# changed) is rebuilt, so changing an image's inputs here is enough.
# The service images of docker-compose.yml (host-base: Node for the host image of
# deploy/Dockerfile; redis) are built the same way, only when named with --only:
#   scripts/build-images.sh --only host-base,redis
# The python images carry pip and the node image npm: they install a
# function's requirements.txt / package.json at deploy.
#
#   scripts/build-images.sh                    # build the images that are missing or whose inputs changed
#   scripts/build-images.sh --only python,node # a selection
#   scripts/build-images.sh --force            # rebuild even when present
#   scripts/build-images.sh --list             # print "key tag packages" and exit
#
# Environment:
#   NANOGRID_DEBIAN_MIRROR  mirror given to mmdebstrap: a URL, a sources file
#                           (deb822 or one-line) or "deb …" line.
#                           Default: the first Debian sources file in /etc/apt.
#   NANOGRID_DEBIAN_SUITE   default: bookworm
set -euo pipefail

SUITE="${NANOGRID_DEBIAN_SUITE:-bookworm}"

# key | tag | Debian packages | extra ENV (space-separated K=V)
# Tags name the version Debian bookworm ships (nodejs 18.20, golang 1.19, g++ 12, python 3.11).
IMAGES=(
  "python|nanogrid/python:3|python3,python3-pip,ca-certificates|PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1"
  "python-fat|nanogrid/python-fat:3|python3,python3-pip,ca-certificates,python3-numpy,python3-pil,python3-requests,python3-pandas|PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1"
  "node|nanogrid/node:18|nodejs,npm,ca-certificates|NODE_ENV=production"
  "cpp|nanogrid/cpp:12|g++|"
  "go|nanogrid/go:1.19|golang-go,ca-certificates|GOCACHE=/tmp/go-cache GOPATH=/tmp/go GOPROXY=off CGO_ENABLED=0"
)
# Service images of docker-compose.yml: key | tag | Debian packages | extra ENV | suite.
# Not sandboxes: host-base runs as root (a worker talks to the mounted Docker socket),
# redis as Debian's redis user. The host needs Node >= 20.19: trixie ships 20.19.
SERVICES=(
  "host-base|nanogrid/host-base:20|nodejs,ca-certificates|NODE_ENV=production|trixie"
  "redis|nanogrid/redis:7|redis-server||bookworm"
)

say() { echo "build-images: $*" >&2; }
fail() { say "ERROR: $*"; exit 1; }

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

only=""
force=0
list=0
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="${2:-}"; shift 2 ;;
    --only=*) only="${1#--only=}"; shift ;;
    --force | -f) force=1; shift ;;
    --list) list=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) fail "unknown argument '$1' (try --help)" ;;
  esac
done

known_keys=$(for spec in "${IMAGES[@]}" "${SERVICES[@]}"; do echo "${spec%%|*}"; done | tr '\n' ' ')
if [ -n "$only" ]; then
  for key in ${only//,/ }; do
    case " $known_keys " in
      *" $key "*) ;;
      *) fail "unknown image '$key' (known: $known_keys)" ;;
    esac
  done
fi
# Without --only: the runtime images; service images only when named.
selected() {
  if [ -z "$only" ]; then is_service "$1" && return 1 || return 0; fi
  case ",$only," in *",$1,"*) return 0 ;; *) return 1 ;; esac
}
is_service() { local spec; for spec in "${SERVICES[@]}"; do [ "${spec%%|*}" = "$1" ] && return 0; done; return 1; }

if [ "$list" = 1 ]; then
  for spec in "${IMAGES[@]}" "${SERVICES[@]}"; do
    IFS='|' read -r key tag pkgs _ <<<"$spec"
    selected "$key" && echo "$key $tag $pkgs"
  done
  exit 0
fi

command -v docker >/dev/null 2>&1 || fail "docker is not installed (run scripts/ensure-docker.sh)"
docker info >/dev/null 2>&1 || fail "the Docker engine does not answer (run scripts/ensure-docker.sh)"

build_one() {
  local key="$1" tag="$2" pkgs="$3" envs="$4" inputs="$5"
  local changes=(
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    --change 'ENV LANG=C.UTF-8'
    --change 'ENV HOME=/tmp'
    --change 'ENV OUTPUT_DIR=/output'
    --change 'WORKDIR /code'
    --change 'USER 65534:65534'
    --change 'CMD ["/bin/sh"]'
    --change "LABEL nanogrid.inputs=$inputs"
  )
  local kv
  for kv in $envs; do changes+=(--change "ENV $kv"); done

  say "building $tag from $SUITE ($pkgs) ..."
  local started=$SECONDS log="/tmp/build-images-$key.log" old
  old=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
  # pipefail: a failed mmdebstrap fails the pipe even though docker import read an empty stream.
  if ! mmdebstrap --variant=apt --include="$pkgs" \
      --aptopt='Apt::Install-Recommends "false"' \
      --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      --dpkgopt='path-exclude=/usr/share/lintian/*' \
      --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*.log "$1"/var/log/apt/*' \
      --customize-hook='mkdir -p "$1"/code "$1"/output && chmod 0755 "$1"/code && chmod 1777 "$1"/output' \
      "$SUITE" - "$mirror" 2>"$log" \
    | docker import "${changes[@]}" - "$tag" >/dev/null; then
    tail -n 20 "$log" >&2 || true
    fail "building $tag failed (log: $log)"
  fi
  # A rebuild leaves the old image untagged: drop it unless a container still uses it.
  if [ -n "$old" ] && [ "$old" != "$(docker image inspect --format '{{.Id}}' "$tag")" ]; then
    docker rmi "$old" >/dev/null 2>&1 || true
  fi
  local size
  size=$(docker image inspect "$tag" --format '{{.Size}}' | awk '{printf "%d MB", $1/1000/1000}')
  say "built $tag in $((SECONDS - started))s ($size)"
}

# What an image is built from: its line in IMAGES and the recipe (build_one's text).
inputs_of() {
  { printf '%s\n%s\n' "$SUITE" "$1"; declare -f build_one; } | sha256sum | cut -c1-32
}

# The docker-import changes and customize hooks of a service image.
service_config() {
  local key="$1" envs="$2" kv
  changes=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'ENV LANG=C.UTF-8')
  hooks=()
  case "$key" in
    host-base) changes+=(--change 'WORKDIR /app' --change 'CMD ["node"]') ;;
    redis)
      # Data in /data, owned by redis (a compose volume takes its owner from the image).
      hooks+=(--customize-hook='chroot "$1" install -d -o redis -g redis -m 0750 /data')
      changes+=(--change 'WORKDIR /data' --change 'USER redis' --change 'EXPOSE 6379'
        --change 'CMD ["redis-server", "--protected-mode", "no", "--dir", "/data"]') ;;
  esac
  for kv in $envs; do changes+=(--change "ENV $kv"); done
}

# Sources for a suite other than SUITE: a sources file names its own suites, so its
# archive and security URIs are reused with that suite's names.
mirrors_for() {
  local suite="$1" main="" security="" uri
  if [ "$suite" = "$SUITE" ]; then echo "$mirror"; return; fi
  case "$mirror" in
    http://* | https://* | file://*) main="$mirror" ;;
    deb\ *) main=$(echo "$mirror" | awk '{print $2}') ;;
    *)
      for uri in $(sed -n -E -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p' "$mirror"); do
        case "$uri" in
          *security*) [ -n "$security" ] || security="$uri" ;;
          *) [ -n "$main" ] || main="$uri" ;;
        esac
      done ;;
  esac
  [ -n "$main" ] || return 0
  echo "deb $main $suite main"
  echo "deb $main $suite-updates main"
  if [ -n "$security" ]; then echo "deb $security $suite-security main"; fi
}

build_service() {
  local key="$1" tag="$2" pkgs="$3" envs="$4" suite="$5" inputs="$6"
  local changes hooks sources=()
  service_config "$key" "$envs"
  changes+=(--change "LABEL nanogrid.inputs=$inputs")
  mapfile -t sources < <(mirrors_for "$suite")
  [ "${#sources[@]}" -gt 0 ] || fail "no Debian mirror for suite $suite: set NANOGRID_DEBIAN_MIRROR to a URL"

  say "building $tag from $suite ($pkgs) ..."
  local started=$SECONDS log="/tmp/build-images-$key.log" old
  old=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
  if ! mmdebstrap --variant=apt --include="$pkgs" \
      --aptopt='Apt::Install-Recommends "false"' \
      --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      --dpkgopt='path-exclude=/usr/share/lintian/*' \
      --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*.log "$1"/var/log/apt/*' \
      "${hooks[@]}" \
      "$suite" - "${sources[@]}" 2>"$log" \
    | docker import "${changes[@]}" - "$tag" >/dev/null; then
    tail -n 20 "$log" >&2 || true
    fail "building $tag failed (log: $log)"
  fi
  if [ -n "$old" ] && [ "$old" != "$(docker image inspect --format '{{.Id}}' "$tag")" ]; then
    docker rmi "$old" >/dev/null 2>&1 || true
  fi
  local size
  size=$(docker image inspect "$tag" --format '{{.Size}}' | awk '{printf "%d MB", $1/1000/1000}')
  say "built $tag in $((SECONDS - started))s ($size)"
}

# What a service image is built from: its line in SERVICES and its recipe.
service_inputs_of() {
  { printf '%s\n' "$1"; declare -f build_service service_config mirrors_for; } | sha256sum | cut -c1-32
}
want_of() { if is_service "${1%%|*}"; then service_inputs_of "$1"; else inputs_of "$1"; fi; }

# Which images are missing or were built from other inputs? Only those need mmdebstrap.
todo=()
for spec in "${IMAGES[@]}" "${SERVICES[@]}"; do
  IFS='|' read -r key tag _ _ <<<"$spec"
  selected "$key" || continue
  if [ "$force" = 0 ] && docker image inspect "$tag" >/dev/null 2>&1; then
    built=$(docker image inspect --format '{{ index .Config.Labels "nanogrid.inputs" }}' "$tag" 2>/dev/null || true)
    if [ "$built" = "$(want_of "$spec")" ]; then
      say "$tag is present and up to date (use --force to rebuild)"
      continue
    fi
    say "$tag was built from other inputs (packages or recipe changed): rebuilding"
  fi
  todo+=("$spec")
done
[ "${#todo[@]}" -gt 0 ] || { say "nothing to build"; exit 0; }
if ! command -v mmdebstrap >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || fail "mmdebstrap is missing: apt-get install -y mmdebstrap"
  say "installing mmdebstrap from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q mmdebstrap >/tmp/build-images-apt.log 2>&1 \
    || fail "apt-get install mmdebstrap failed (see /tmp/build-images-apt.log)"
fi

mirror="${NANOGRID_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
    if [ -f "$f" ] && grep -q -E '^(URIs:|deb )' "$f"; then mirror="$f"; break; fi
  done
fi
[ -n "$mirror" ] || fail "no Debian mirror found in /etc/apt: set NANOGRID_DEBIAN_MIRROR"


for spec in "${todo[@]}"; do
  IFS='|' read -r key tag pkgs envs suite <<<"$spec"
  if is_service "$key"; then
    build_service "$key" "$tag" "$pkgs" "$envs" "$suite" "$(service_inputs_of "$spec")"
  else
    build_one "$key" "$tag" "$pkgs" "$envs" "$(inputs_of "$spec")"
  fi
done

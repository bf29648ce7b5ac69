#!/usr/bin/env bash
# Makes sure a Docker engine answers: installs docker.io when the daemon is
# missing, starts dockerd in the background when nothing answers, then waits
# until `docker info` works. Idempotent and quick when the engine is already up.
#
#   scripts/ensure-docker.sh            # exit 0 when the engine answers
#   DOCKER_WAIT_SECONDS=120 scripts/ensure-docker.sh
#
# With DOCKER_HOST pointing at another machine nothing is installed or started:
# the script only checks that the remote engine answers.
set -euo pipefail

WAIT_SECONDS="${DOCKER_WAIT_SECONDS:-60}"
LOG_FILE="${DOCKERD_LOG:-/tmp/dockerd.log}"

say() { echo "ensure-docker: $*" >&2; }
fail() { say "ERROR: $*"; exit 1; }

answers() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && answers; then
  say "Docker engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
  exit 0
fi

remote=0
case "${DOCKER_HOST:-}" in
  "" | unix://*) ;;
  *) remote=1 ;;
esac

if [ "$remote" = 0 ]; then
  if ! command -v dockerd >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || fail "dockerd is not installed and this is not root: install docker.io (apt-get install -y docker.io)"
    say "installing docker.io from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q docker.io >/tmp/ensure-docker-apt.log 2>&1 \
      || { apt-get update -q >>/tmp/ensure-docker-apt.log 2>&1 && apt-get install -y -q docker.io >>/tmp/ensure-docker-apt.log 2>&1; } \
      || fail "apt-get install docker.io failed (see /tmp/ensure-docker-apt.log)"
  fi
  command -v docker >/dev/null 2>&1 || fail "the docker client is missing after installing docker.io"

  # Another dockerd may be starting already: wait for it instead of racing it.
  if ! pgrep -x dockerd >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || fail "dockerd is not running and this is not root: start it (sudo dockerd &)"
    # A pid file left by a daemon that died makes a new dockerd refuse to start.
    if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
      rm -f /var/run/docker.pid
    fi
    say "starting dockerd (log: $LOG_FILE)"
    # setsid + nohup: the daemon outlives the shell (and the CI step) that started it.
    setsid nohup dockerd >"$LOG_FILE" 2>&1 </dev/null &
  fi
fi

for _ in $(seq 1 "$WAIT_SECONDS"); do
  if answers; then
    say "Docker engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
    exit 0
  fi
  sleep 1
done

[ "$remote" = 1 ] && fail "the Docker engine at DOCKER_HOST=$DOCKER_HOST did not answer within ${WAIT_SECONDS}s"
tail -n 20 "$LOG_FILE" >&2 2>/dev/null || true
fail "dockerd did not answer within ${WAIT_SECONDS}s (log: $LOG_FILE)"

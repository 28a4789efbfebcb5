#!/usr/bin/env bash
# A Docker engine for SegArena's docker test tier, on a machine without systemd.
#
#   containers/engine.sh start    a daemon answers afterwards: reuse one that answers, otherwise
#                                 install Debian's docker.io when dockerd is missing (root, apt)
#                                 and start dockerd in the background, its PID in $STATE/dockerd.pid
#   containers/engine.sh stop     stop the daemon that `start` started (by its PID); leave any other alone
#   containers/engine.sh status   exit 0 when a daemon answers, 1 otherwise
#
# $STATE is $SEGARENA_ENGINE_DIR, default <repo>/.cache/engine (pid file and dockerd.log).
# Recipe and measurements: ../shared/notes/containers.md of the project.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state=${SEGARENA_ENGINE_DIR:-$repo/.cache/engine}
pid_file=$state/dockerd.pid
log_file=$state/dockerd.log

client() {
    # The engine's own client speaks its API version; a newer CLI elsewhere on PATH may not.
    if [ -x /usr/bin/docker ]; then echo /usr/bin/docker; else command -v docker || true; fi
}

answers() {
    local docker
    docker=$(client)
    [ -n "$docker" ] && timeout 10 "$docker" info >/dev/null 2>&1
}

start() {
    if answers; then
        echo "engine.sh: a Docker daemon already answers; not starting another"
        return 0
    fi
    if ! command -v dockerd >/dev/null 2>&1; then
        if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
            echo "engine.sh: dockerd is not installed; install Docker (Debian: apt-get install docker.io) and retry" >&2
            return 1
        fi
        echo "engine.sh: installing docker.io"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "engine.sh: starting dockerd needs root; start it (or rootless Docker) yourself" >&2
        return 1
    fi
    mkdir -p "$state"
    echo "engine.sh: starting dockerd (log: $log_file)"
    nohup dockerd >"$log_file" 2>&1 &
    echo $! >"$pid_file"
    for _ in $(seq 120); do
        if answers; then
            echo "engine.sh: dockerd $(cat "$pid_file") answers"
            return 0
        fi
        if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
            echo "engine.sh: dockerd exited at start; last lines of $log_file:" >&2
            tail -n 20 "$log_file" >&2
            rm -f "$pid_file"
            return 1
        fi
        sleep 0.5
    done
    echo "engine.sh: dockerd did not answer within 60 s; see $log_file" >&2
    return 1
}

stop() {
    if [ ! -f "$pid_file" ]; then
        echo "engine.sh: no dockerd started by this script ($pid_file absent); nothing to stop"
        return 0
    fi
    local pid
    pid=$(cat "$pid_file")
    if kill -0 "$pid" 2>/dev/null; then
        echo "engine.sh: stopping dockerd $pid"
        kill -TERM "$pid"
        for _ in $(seq 40); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "engine.sh: dockerd $pid still running after 20 s; killing it"
            kill -KILL "$pid"
        fi
    fi
    rm -f "$pid_file"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status)
        if answers; then echo "engine.sh: a Docker daemon answers"; else echo "engine.sh: no Docker daemon answers"; exit 1; fi
        ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac

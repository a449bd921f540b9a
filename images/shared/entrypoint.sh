#!/bin/bash
# Entrypoint of every Reactor image (runs under tini as PID 1).
#
# - REACTOR_DOCKER_HOST_INTEGRATION=true and /var/run/docker.sock mounted: proxy the host's socket with
#   socat to a socket owned by the current user, export DOCKER_HOST for the command, and make it the
#   docker CLI's current context so later `docker exec` sessions use it too.
# - With a command: exec it. Without one: bash on a TTY, otherwise stay alive (so `docker exec` works)
#   and exit promptly on SIGTERM.
set -euo pipefail

readonly host_socket=/var/run/docker.sock
readonly proxy_socket="${REACTOR_DOCKER_PROXY_SOCKET:-${HOME}/.docker/run/docker.sock}"
readonly proxy_deadline_seconds=10

start_docker_proxy() {
    mkdir -p "$(dirname "${proxy_socket}")"
    rm -f "${proxy_socket}"
    sudo -n socat \
        "UNIX-LISTEN:${proxy_socket},fork,mode=0600,user=$(id -u),group=$(id -g)" \
        "UNIX-CONNECT:${host_socket}" </dev/null >/dev/null 2>&1 &
    local waited=0
    until [[ -S "${proxy_socket}" ]]; do
        if (( waited >= proxy_deadline_seconds * 10 )); then
            echo "reactor-entrypoint: the docker socket proxy did not appear at ${proxy_socket}" \
                 "within ${proxy_deadline_seconds}s (is sudo available to $(id -un)?)" >&2
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    export DOCKER_HOST="unix://${proxy_socket}"
    docker context rm -f reactor-host >/dev/null 2>&1 || true
    docker context create reactor-host --docker "host=${DOCKER_HOST}" >/dev/null
    docker context use reactor-host >/dev/null
}

if [[ "${REACTOR_DOCKER_HOST_INTEGRATION:-false}" == "true" ]]; then
    if [[ -S "${host_socket}" ]]; then
        start_docker_proxy
    else
        echo "reactor-entrypoint: REACTOR_DOCKER_HOST_INTEGRATION=true but ${host_socket} is not a socket;" \
             "mount it with -v /var/run/docker.sock:/var/run/docker.sock" >&2
    fi
fi

if (( $# > 0 )); then
    exec "$@"
fi
if [[ -t 0 ]]; then
    exec bash -l
fi
trap 'exit 0' TERM INT
sleep infinity &
wait $!

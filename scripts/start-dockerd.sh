#!/usr/bin/env bash
# Test/CI fixture: make sure a Docker engine answers on /var/run/docker.sock.
#
# Installs Debian's docker.io (and debootstrap, for the stand-in base images) if missing,
# starts dockerd in the background with host networking only (no bridge, no iptables: this
# machine has no registry and no outside network), and waits until it answers.
# Idempotent: does nothing if an engine already answers. Needs root.
# Not for users: on a normal machine, start Docker the usual way (`systemctl start docker`).
set -euo pipefail

SOCK=/var/run/docker.sock
LOG=${DOCKERD_LOG:-/var/log/bench-dockerd.log}
WAIT_S=${DOCKERD_WAIT_S:-60}

engine_answers() {
    DOCKER_HOST="unix://$SOCK" timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

if command -v docker >/dev/null && engine_answers; then
    echo "docker engine already answers: $(DOCKER_HOST="unix://$SOCK" docker version --format '{{.Server.Version}}')"
    exit 0
fi

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if ((${#missing[@]})); then
    echo "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

alive() {  # a process that exists and is not a zombie (a killed dockerd may linger as one)
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)
    [[ -n $state && $state != Z ]]
}

live() {  # a live process of this exact name, e.g. a dockerd still starting up
    local pid
    for pid in $(pgrep -x "$1"); do alive "$pid" && return 0; done
    return 1
}

# A killed dockerd leaves pid files behind (its own, and its containerd's), and dockerd trusts
# a pid file while that pid exists, zombies included: it then refuses to start, or waits on a
# containerd that is gone. With no live process of that name, the file is stale.
remove_stale_pid_files() {
    live dockerd || rm -f /var/run/docker.pid
    live containerd || rm -f /var/run/docker/containerd/containerd.pid
}

# start_and_wait: 0 once the engine answers, 1 if the dockerd started here died, 2 on time-out.
start_and_wait() {
    local started="" i
    if ! live dockerd; then
        echo "starting dockerd (log: $LOG)"
        remove_stale_pid_files
        # setsid: its own session, so it outlives this script and a Ctrl-C in the caller's terminal.
        setsid dockerd --iptables=false --ip6tables=false --bridge=none --host="unix://$SOCK" \
            >>"$LOG" 2>&1 </dev/null &
        started=$!
    fi
    for ((i = 0; i < WAIT_S * 2; i++)); do
        engine_answers && return 0
        [[ -n $started ]] && ! alive "$started" && return 1
        sleep 0.5
    done
    return 2
}

for attempt in 1 2 3; do
    status=0
    start_and_wait || status=$?
    if ((status == 0)); then
        echo "docker engine answers: $(DOCKER_HOST="unix://$SOCK" docker version --format '{{.Server.Version}}')"
        exit 0
    fi
    ((status == 2)) && break
    echo "dockerd exited during start-up (attempt $attempt); retrying" >&2
    sleep 3
done
echo "no Docker engine answers on $SOCK; the dockerd log ends:" >&2
tail -n 20 "$LOG" >&2 || true
exit 1

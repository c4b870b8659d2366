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

if ! pgrep -x dockerd >/dev/null; then
    echo "starting dockerd (log: $LOG)"
    # setsid: its own session, so it outlives this script and a Ctrl-C in the caller's terminal.
    setsid dockerd --iptables=false --ip6tables=false --bridge=none --host="unix://$SOCK" \
        >>"$LOG" 2>&1 </dev/null &
fi

for ((i = 0; i < WAIT_S * 2; i++)); do
    if engine_answers; then
        echo "docker engine answers: $(DOCKER_HOST="unix://$SOCK" docker version --format '{{.Server.Version}}')"
        exit 0
    fi
    sleep 0.5
done
echo "dockerd did not answer on $SOCK within ${WAIT_S}s; its log ends:" >&2
tail -n 20 "$LOG" >&2 || true
exit 1

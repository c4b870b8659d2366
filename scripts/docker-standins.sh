#!/usr/bin/env bash
# Test/CI fixture: stand-ins for the public base images, which cannot be pulled here (no image
# registry is reachable from this environment, only the package registries).
#
#   bench-standin-debian:bookworm   a minimal Debian bookworm root (debootstrap + docker import)
#   bench-standin-python:bookworm   + python3 python3-venv python3-pip   (for targets/fastapi_app)
#   bench-standin-node:bookworm     + nodejs npm                         (for targets/express_app)
#
# Each carries this machine's CA bundle so that pip and npm inside a build reach their
# registries. Cached: an image whose tag exists is not rebuilt (--rebuild forces it).
# Prints the base-image choices for the harness on stdout, one per line:
#   fastapi=bench-standin-python:bookworm
#   express=bench-standin-node:bookworm
# (--tags prints them without building anything.) Progress goes to stderr.
#
# Never used by what users run: the Dockerfiles' defaults stay the public images.
set -euo pipefail

RECIPE=1  # bump to rebuild every stand-in after changing this recipe
SUITE=bookworm
DEBIAN_TAG="bench-standin-debian:$SUITE"
PYTHON_TAG="bench-standin-python:$SUITE"
NODE_TAG="bench-standin-node:$SUITE"
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

print_tags() {
    echo "fastapi=$PYTHON_TAG"
    echo "express=$NODE_TAG"
}

rebuild=0
case "${1:-}" in
    --tags) print_tags; exit 0 ;;
    --rebuild) rebuild=1 ;;
    "") ;;
    *) echo "usage: $0 [--tags|--rebuild]" >&2; exit 2 ;;
esac

log() { echo "[standins] $*" >&2; }

have_image() {
    [[ $rebuild == 0 ]] || return 1
    [[ "$(docker image inspect --format '{{index .Config.Labels "bench.standin.recipe"}}' "$1" 2>/dev/null)" == "$RECIPE" ]]
}

# The Debian mirror apt uses on this machine (deb822 or one-line sources), deb.debian.org if none found.
debian_mirror() {
    local uri
    uri=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list \
        | grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ')
    echo "${uri:-http://deb.debian.org/debian}"
}

docker version >/dev/null 2>&1 || { log "no Docker engine answers (scripts/start-dockerd.sh starts one)"; exit 1; }
[[ -r $CA_BUNDLE ]] || { log "no CA bundle at $CA_BUNDLE"; exit 1; }

work=$(mktemp -d /tmp/bench-standins.XXXXXX)
trap 'rm -rf "$work"' EXIT

if have_image "$DEBIAN_TAG"; then
    log "$DEBIAN_TAG: cached"
else
    command -v debootstrap >/dev/null || { log "debootstrap is missing (apt-get install debootstrap)"; exit 1; }
    mirror=$(debian_mirror)
    log "debootstrap $SUITE from $mirror (a few minutes)"
    start=$SECONDS
    debootstrap --variant=minbase "$SUITE" "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 \
        || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
    cat >"$work/root/etc/apt/sources.list" <<SOURCES
deb $mirror $SUITE main
deb $mirror $SUITE-updates main
deb ${mirror%/debian*}/debian-security $SUITE-security main
SOURCES
    rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
    tar -C "$work/root" -c . | docker import \
        --change 'CMD ["/bin/bash"]' --change "LABEL bench.standin.recipe=$RECIPE" - "$DEBIAN_TAG" >/dev/null
    rm -rf "$work/root"
    log "$DEBIAN_TAG imported in $((SECONDS - start))s"
fi

# build_standin TAG PACKAGES...: Debian packages on the Debian stand-in, plus this machine's CA bundle.
build_standin() {
    local tag=$1; shift
    have_image "$tag" && { log "$tag: cached"; return; }
    log "building $tag (${*})"
    local start=$SECONDS ctx="$work/ctx-${tag%%:*}"
    mkdir -p "$ctx"
    cp "$CA_BUNDLE" "$ctx/ca-certificates.crt"
    cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $DEBIAN_TAG
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates $* \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \\
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \\
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \\
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \\
    npm_config_cafile=/etc/ssl/certs/ca-certificates.crt
LABEL bench.standin.recipe=$RECIPE
DOCKERFILE
    docker build --network host --quiet -t "$tag" "$ctx" >"$work/build.log" 2>&1 \
        || { tail -n 20 "$work/build.log" >&2; exit 1; }
    log "$tag built in $((SECONDS - start))s"
}

build_standin "$PYTHON_TAG" python3 python3-venv python3-pip
build_standin "$NODE_TAG" nodejs npm
print_tags

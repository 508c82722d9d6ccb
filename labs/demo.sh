#!/usr/bin/env bash
# `npm run demo`: the cross-subnet lab end to end. Brings up labs/cross-subnet.clab.yml on network
# namespaces (two underlay subnets joined by a router that knows no pod route and drops pod source
# addresses), shows `weft status` and `weft routes` of host h1 (direct to h2 in its subnet, VXLAN
# to h3 and h4 across the router), runs the pod-to-pod ping matrix, and tears everything down —
# also when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
weft() { node dist/cli/main.js "$@"; }
LAB=labs/cross-subnet.clab.yml
STATE_DIR=$(mktemp -d /tmp/weft-demo-XXXXXX)
chmod 755 "$STATE_DIR"
down() { weft lab down "$LAB" --state-dir "$STATE_DIR" >/dev/null 2>&1 || true; rm -rf "$STATE_DIR"; }
trap down EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

step "Bringing up $LAB on network namespaces (4 hosts, 4 pods, 1 router)"
weft lab up "$LAB" --state-dir "$STATE_DIR"
SOCK=$(node -e 'const s=require(process.argv[1]); console.log(s.agents.find(a=>a.host==="h1").socket)' "$STATE_DIR/cross-subnet.json")

step "Waiting for the mesh to converge, then the pod-to-pod ping matrix"
weft lab test "$LAB" --state-dir "$STATE_DIR" --keep

step "weft status on h1"
weft status -s "$SOCK"

step "weft routes on h1 (direct inside 10.77.1.0/24, VXLAN across the router)"
weft routes -s "$SOCK"

step "Tearing down"

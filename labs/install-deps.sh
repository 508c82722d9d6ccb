#!/usr/bin/env bash
# Installs what weft's tests, labs and benchmarks need on Debian 12 (as root), idempotently:
# the npm packages (when package-lock.json changed) and the Debian packages (only what is missing).
# Services are kept from starting while apt installs them (no systemd here anyway).
set -euo pipefail
cd "$(dirname "$0")/.."

need_cmds=(ip bird birdc zebra bgpd vtysh gobgpd gobgp exabgp tshark tcpdump iperf3 jq ping nft etcd etcdctl prometheus zsh groff man)
pkgs=(iproute2 bird2 frr frr-pythontools gobgpd exabgp tshark tcpdump iperf3 jq iputils-ping nftables procps psmisc etcd-server etcd-client prometheus zsh groff-base man-db)

have_all=1
for c in "${need_cmds[@]}"; do
  if ! command -v "$c" >/dev/null 2>&1 && [ ! -x "/usr/lib/frr/$c" ]; then have_all=0; fi
done

if [ "$have_all" = 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing tools and not root; install: ${pkgs[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing Debian packages: ${pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

# weft's route protocol number, by name, so `ip route` shows `proto weft`.
if [ -d /etc/iproute2 ] || mkdir -p /etc/iproute2/rt_protos.d; then
  mkdir -p /etc/iproute2/rt_protos.d
  if ! grep -qs '^249[[:space:]]\+weft' /etc/iproute2/rt_protos.d/weft.conf; then
    printf '249\tweft\n' > /etc/iproute2/rt_protos.d/weft.conf
  fi
fi

# npm packages: install when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ ! -f node_modules/.package-lock.json ]; then
  echo "install-deps: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

# The TCP MD5 addon (src/agent/io/md5): npm's install script builds it; built again here when it is
# missing or older than its sources (a checkout whose node_modules is already current). A failed
# build is no failure: weft runs without it and refuses only configurations with a password.
md5_addon=src/agent/io/md5/build/Release/weft_md5.node
if [ ! -f "$md5_addon" ] || [ src/agent/io/md5/weft-md5.c -nt "$md5_addon" ] || [ src/agent/io/md5/binding.gyp -nt "$md5_addon" ]; then
  echo "install-deps: building the TCP MD5 addon" >&2
  npm run --silent build:md5 >/dev/null 2>&1 || echo "install-deps: the TCP MD5 addon was not built (python3, make, g++?): TCP MD5 tests will skip" >&2
fi

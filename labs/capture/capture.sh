#!/usr/bin/env bash
# Records real BGP sessions between BIRD 2, FRR and GoBGP in network namespaces made for this
# run, then turns the captures into fixtures in proto-fixtures/ (see proto-fixtures/README.md).
#
#   bash labs/capture/capture.sh          (npm run capture)
#   WEFTCAP_KEEP=1 ...                     keep the run directory (pcaps, daemon logs) for a look
#   WEFTCAP_OUT=/some/dir ...              write fixtures somewhere else than proto-fixtures/
#
# Pairs (each in its own namespaces joined by one veth, names weftcap-<run>-<role>):
#   bf  BIRD <-> FRR   eBGP 4-octet AS over IPv4 and IPv6, withdrawals, route refresh (+ enhanced),
#                      admin shutdown with RFC 9003 text both ways, Bad Peer AS, hold timer expiry,
#                      a 2-octet-AS session (AS_TRANS / AS4_PATH / AS4_AGGREGATOR), admin reset,
#                      peer de-configured
#   gb  GoBGP <-> BIRD eBGP, gobgp rib add with communities, withdrawal, route refresh from BIRD,
#                      GoBGP admin shutdown with a reason
#   gf  GoBGP <-> FRR  eBGP over IPv4 and IPv6, hold time 3 s, GoBGP stopped -> FRR hold timer expiry
#   rr  FRR route reflector with iBGP clients BIRD (ADD-PATH) and GoBGP: LOCAL_PREF, ORIGINATOR_ID,
#                      CLUSTER_LIST
# Every wait polls a condition under a deadline. Everything started here is stopped by PID and all
# namespaces are deleted in the EXIT trap, on success and on failure.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CONF=$HERE/conf
OUT=${WEFTCAP_OUT:-$ROOT/proto-fixtures}
EXTRACT=(python3 -B "$HERE/extract.py")   # + pcap_tcp.py, bgp_summary.py

[ "$(id -u)" = 0 ] || { echo "capture: must run as root (network namespaces)" >&2; exit 1; }
for c in ip bird birdc vtysh gobgpd gobgp tcpdump tshark python3 jq; do
  command -v "$c" >/dev/null || { echo "capture: missing $c (run labs/install-deps.sh)" >&2; exit 1; }
done
FRRBIN=/usr/lib/frr
[ -x $FRRBIN/zebra ] && [ -x $FRRBIN/bgpd ] || { echo "capture: FRR daemons not in $FRRBIN" >&2; exit 1; }

RUNID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
RUN=$(mktemp -d "/tmp/weftcap-$RUNID.XXXX")
chmod 755 "$RUN"
NSES=()      # namespaces created by this run
PIDS=()      # processes started by this run (daemons, tcpdump)

log() { printf '[capture %s] %s\n' "$(date +%T)" "$*" >&2; }
warn() { printf '[capture %s] WARNING: %s\n' "$(date +%T)" "$*" >&2; }

# A process is gone when /proc/PID is missing or it is a zombie (kill -0 succeeds on zombies).
alive() {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

stop_pid() {   # stop_pid PID [timeout_s]: TERM, wait, then KILL
  local pid=$1 t=${2:-10} end
  alive "$pid" || return 0
  kill -CONT "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  end=$(( $(date +%s) + t ))
  while alive "$pid" && [ "$(date +%s)" -lt "$end" ]; do sleep 0.05; done
  if alive "$pid"; then warn "pid $pid ignored TERM, sending KILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  end=$(( $(date +%s) + 5 ))
  while alive "$pid" && [ "$(date +%s)" -lt "$end" ]; do sleep 0.05; done
}

cleanup() {
  local rc=$? i ns
  set +e
  trap - EXIT INT TERM
  for (( i=${#PIDS[@]}-1; i>=0; i-- )); do stop_pid "${PIDS[$i]}" 5; done
  for ns in "${NSES[@]}"; do ip netns del "$ns" 2>/dev/null; done
  if [ "${WEFTCAP_KEEP:-0}" = 1 ] || [ "$rc" != 0 ]; then
    log "run directory kept: $RUN"
  else
    rm -rf "$RUN"
  fi
  [ "$rc" = 0 ] || log "FAILED (exit $rc)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }

# wait_until DESC TIMEOUT_S CMD...: poll CMD every 100 ms until it succeeds or the deadline passes.
# $POKE (if set) runs every round: BIRD sleeps up to 3 s when idle unless its socket is queried.
wait_until() {
  local desc=$1 t=$2; shift 2
  local deadline=$(( $(now_ms) + t * 1000 ))
  while :; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [ "$(now_ms)" -gt "$deadline" ]; then warn "timed out after ${t}s waiting for: $desc"; return 1; fi
    if [ -n "${POKE:-}" ]; then eval "$POKE" >/dev/null 2>&1 || true; fi
    sleep 0.1
  done
}
# must/soft DESC CMD...: wait up to $WAIT_S (default 30) seconds.
must() { wait_until "$1" "${WAIT_S:-30}" "${@:2}" || exit 1; }   # the capture cannot do without it
soft() { wait_until "$1" "${WAIT_S:-30}" "${@:2}" || true; }     # nice to have: warn, carry on

# ------------------------------------------------------------------ namespaces and links
mkns() {   # mkns ROLE -> creates weftcap-RUNID-ROLE
  local ns="weftcap-$RUNID-$1"
  ip netns add "$ns"
  NSES+=("$ns")
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  ip -n "$ns" link set lo up
}
ns() { echo "weftcap-$RUNID-$1"; }

VETH_N=0
veth() {   # veth ROLE_A IF_A ROLE_B IF_B
  # Fixed MACs give fixed IPv6 link-local addresses, so next hops (and fixture bytes) are stable.
  VETH_N=$((VETH_N + 1))
  ip -n "$(ns "$1")" link add "$2" address "02:00:5e:00:0$VETH_N:01" type veth \
    peer name "$4" address "02:00:5e:00:0$VETH_N:02" netns "$(ns "$3")"
  ip -n "$(ns "$1")" link set "$2" up
  ip -n "$(ns "$3")" link set "$4" up
}
addr() { ip -n "$(ns "$1")" addr add "$3" dev "$2" nodad 2>/dev/null || ip -n "$(ns "$1")" addr add "$3" dev "$2"; }

# ------------------------------------------------------------------ daemons
render() {   # render TEMPLATE OUT KEY=VALUE...
  local tpl=$1 out=$2 expr=() kv; shift 2
  for kv in "$@"; do expr+=(-e "s#@${kv%%=*}@#${kv#*=}#g"); done
  sed "${expr[@]}" "$tpl" > "$out"
}

pidfile_pid() {   # pidfile_pid FILE: wait for the file, print the PID
  local f=$1
  must "pid file $f" test -s "$f"
  tr -d ' \n' < "$f"
}

start_bird() {   # start_bird ROLE CONF-TEMPLATE
  local role=$1 pid
  render "$CONF/$2" "$RUN/$role.conf" RUN="$RUN"
  ip netns exec "$(ns "$role")" bird -s "$RUN/$role.ctl" -c "$RUN/$role.conf" -P "$RUN/$role.pid"
  pid=$(pidfile_pid "$RUN/$role.pid"); PIDS+=("$pid")
  must "bird $role control socket" birdc -s "$RUN/$role.ctl" show status
}
birdc_() { local role=$1; shift; birdc -s "$RUN/$role.ctl" "$@"; }
bird_up() { birdc_ "$1" show protocols "$2" | grep -q Established; }
bird_has() { birdc_ "$1" show protocols all "$2" | grep -q -- "$3"; }

start_frr() {   # start_frr ROLE CONF-TEMPLATE
  local role=$1 d="$RUN/$1" pid
  mkdir -p "$d"
  render "$CONF/$2" "$d/bgpd.conf" DIR="$d"
  printf 'hostname %s\n' "$role" > "$d/zebra.conf"
  chown -R frr:frr "$d"
  ip netns exec "$(ns "$role")" $FRRBIN/zebra -d -f "$d/zebra.conf" -i "$d/zebra.pid" -z "$d/zserv.api" \
    --vty_socket "$d" -s 90000000 -P 0
  pid=$(pidfile_pid "$d/zebra.pid"); PIDS+=("$pid")
  must "zebra $role api socket" test -S "$d/zserv.api"
  ip netns exec "$(ns "$role")" $FRRBIN/bgpd -d -f "$d/bgpd.conf" -i "$d/bgpd.pid" -z "$d/zserv.api" \
    --vty_socket "$d" -P 0
  pid=$(pidfile_pid "$d/bgpd.pid"); PIDS+=("$pid")
  must "bgpd $role vty" vtysh --vty_socket "$d" -c 'show bgp summary'
}
vty() { local role=$1; shift; local a=(); for c in "$@"; do a+=(-c "$c"); done; vtysh --vty_socket "$RUN/$role" "${a[@]}"; }
frr_up() { [ "$(vty "$1" "show bgp neighbors $2 json" | jq -r '.[].bgpState')" = Established ]; }
frr_pfx() {   # frr_pfx ROLE AFI PEER MIN: at least MIN prefixes received from PEER
  local n
  n=$(vty "$1" "show bgp $2 unicast summary json" | jq -r --arg p "$3" '.peers[$p].pfxRcd // 0')
  [ "$n" -ge "$4" ]
}

start_gobgp() {   # start_gobgp ROLE CONF
  local role=$1
  cp "$CONF/$2" "$RUN/$role.toml"
  # GoBGP sends the machine's host name in its FQDN capability: give it a fixed one in its own
  # UTS namespace (ip netns exec, unshare and sh all exec, so $! is gobgpd's PID).
  ip netns exec "$(ns "$role")" unshare --uts sh -c 'hostname "$1"; shift; exec "$@"' sh "$role" \
    gobgpd -f "$RUN/$role.toml" -t toml --api-hosts 127.0.0.1:50051 \
    --log-level warn --disable-stdlog > "$RUN/$role.log" 2>&1 &
  PIDS+=("$!")
  must "gobgpd $role api" ip netns exec "$(ns "$role")" gobgp -u 127.0.0.1 -p 50051 global
}
gobgp_() { local role=$1; shift; ip netns exec "$(ns "$role")" gobgp -u 127.0.0.1 -p 50051 "$@"; }
gobgp_up() {
  [ "$(gobgp_ "$1" neighbor -j | jq -r --arg a "$2" '.[] | select(.state.neighbor_address == $a) | .state.session_state')" = 6 ]
}

start_cap() {   # start_cap ROLE IFACE NAME: tcpdump inside ROLE's namespace -> $RUN/NAME.pcap
  local role=$1 ifc=$2 name=$3
  ip netns exec "$(ns "$role")" tcpdump -U -Z root -n -s 0 -i "$ifc" -w "$RUN/$name.pcap" tcp port 179 \
    > "$RUN/$name.tcpdump.log" 2>&1 &
  PIDS+=("$!")
  eval "CAP_$name=$!"
  must "tcpdump on $role/$ifc" grep -q 'listening on' "$RUN/$name.tcpdump.log"
}
stop_cap() { local v="CAP_$1"; stop_pid "${!v}" 10; }

# saw PCAP FROM_IP KIND [MIN]: the capture so far holds >= MIN (default 1) messages of KIND from FROM_IP
saw() { "${EXTRACT[@]}" probe "$RUN/$1.pcap" "$2" "$3" "${4:-1}"; }

# ================================================================== pair bf: BIRD <-> FRR
pair_bf() {
  log "pair bf: BIRD <-> FRR"
  mkns bf-bird; mkns bf-frr
  veth bf-bird e0 bf-frr e0
  local a
  for a in 10.0.0.1/24 10.0.0.11/24 10.0.0.21/24 10.0.0.31/24 fd00:0:0:1::1/64; do addr bf-bird e0 "$a"; done
  for a in 10.0.0.2/24 10.0.0.12/24 10.0.0.22/24 10.0.0.32/24 fd00:0:0:1::2/64; do addr bf-frr e0 "$a"; done
  start_cap bf-bird e0 bf
  start_frr bf-frr bf-frr.conf
  start_bird bf-bird bf-bird.conf
  local POKE='birdc_ bf-bird show status'

  must "bf ebgp4 Established" bird_up bf-bird ebgp4
  must "bf ebgp6 Established" bird_up bf-bird ebgp6
  soft "bf as2 Established" bird_up bf-bird as2
  must "bf holdt Established" bird_up bf-bird holdt
  # Initial exchange complete: routes both ways and End-of-RIB both ways, for both families.
  must "FRR got BIRD's IPv4 routes" frr_pfx bf-frr ipv4 10.0.0.1 5
  must "FRR got BIRD's IPv6 routes" frr_pfx bf-frr ipv6 fd00:0:0:1::1 4
  must "EoR IPv4 from BIRD" saw bf 10.0.0.1 eor4
  must "EoR IPv4 from FRR" saw bf 10.0.0.2 eor4
  must "EoR IPv6 from BIRD" saw bf fd00:0:0:1::1 eor6
  must "EoR IPv6 from FRR" saw bf fd00:0:0:1::2 eor6
  soft "UPDATE with AS4_PATH from FRR on as2" saw bf 10.0.0.32 eor4
  soft "Bad Peer AS NOTIFICATION from BIRD" saw bf 10.0.0.11 notif:2/2

  log "bf: withdrawals"
  birdc_ bf-bird disable s4w >/dev/null
  birdc_ bf-bird disable s6w >/dev/null
  vty bf-frr 'configure terminal' 'router bgp 4200000002' 'address-family ipv4 unicast' 'no network 100.100.0.0/24' >/dev/null
  vty bf-frr 'configure terminal' 'router bgp 4200000002' 'address-family ipv6 unicast' 'no network 2001:db8:210::/48' >/dev/null
  must "IPv4 withdrawal from BIRD" saw bf 10.0.0.1 withdraw4
  must "IPv6 withdrawal from BIRD" saw bf fd00:0:0:1::1 withdraw6
  must "IPv4 withdrawal from FRR" saw bf 10.0.0.2 withdraw4
  must "IPv6 withdrawal from FRR" saw bf fd00:0:0:1::2 withdraw6

  log "bf: route refresh"
  vty bf-frr 'clear bgp ipv4 unicast 10.0.0.1 soft in' >/dev/null
  must "ROUTE-REFRESH from FRR" saw bf 10.0.0.2 refresh
  soft "EoRR from BIRD (enhanced route refresh)" saw bf 10.0.0.1 eorr
  birdc_ bf-bird reload in ebgp6 >/dev/null
  must "ROUTE-REFRESH from BIRD" saw bf fd00:0:0:1::1 refresh
  soft "EoRR from FRR (enhanced route refresh)" saw bf fd00:0:0:1::2 eorr

  log "bf: administrative shutdown with a shutdown communication (RFC 9003)"
  vty bf-frr 'configure terminal' 'router bgp 4200000002' \
    'neighbor 10.0.0.1 shutdown message weft capture: FRR maintenance window' >/dev/null
  must "Cease/2 from FRR" saw bf 10.0.0.2 notif:6/2
  birdc_ bf-bird disable ebgp6 '"weft capture: BIRD going down"' >/dev/null
  must "Cease/2 from BIRD" saw bf fd00:0:0:1::1 notif:6/2

  log "bf: administrative reset and peer de-configured (as2 session)"
  if bird_up bf-bird as2; then
    birdc_ bf-bird restart as2 >/dev/null
    soft "Cease/4 from BIRD" saw bf 10.0.0.31 notif:6/4
    soft "bf as2 Established again" frr_up bf-frr 10.0.0.31
    vty bf-frr 'configure terminal' 'router bgp 4200000002' 'no neighbor 10.0.0.31' >/dev/null
    soft "Cease/3 from FRR" saw bf 10.0.0.32 notif:6/3
  fi

  log "bf: hold timer expiry (bgpd stopped, BIRD hold time 3 s)"
  local bgpd; bgpd=$(tr -d ' \n' < "$RUN/bf-frr/bgpd.pid")
  kill -STOP "$bgpd"
  wait_until "Hold Timer Expired from BIRD" 15 saw bf 10.0.0.21 notif:4/0 || { kill -CONT "$bgpd"; exit 1; }
  kill -CONT "$bgpd"
  must "FRR alive again" vty bf-frr 'show bgp summary'

  log "bf: stopping daemons (on SIGTERM neither BIRD nor FRR sends a NOTIFICATION)"
  stop_pid "$(tr -d ' \n' < "$RUN/bf-bird.pid")"
  stop_pid "$bgpd"
  stop_cap bf
}

# ================================================================== pair gb: GoBGP <-> BIRD
pair_gb() {
  log "pair gb: GoBGP <-> BIRD"
  mkns gb-gobgp; mkns gb-bird
  veth gb-bird e0 gb-gobgp e0
  addr gb-bird e0 10.3.0.1/24; addr gb-gobgp e0 10.3.0.2/24
  start_cap gb-bird e0 gb
  start_bird gb-bird gb-bird.conf
  start_gobgp gb-gobgp gb-gobgp.toml
  local POKE='birdc_ gb-bird show status'
  must "gb Established (BIRD)" bird_up gb-bird gobgp
  must "gb Established (GoBGP)" gobgp_up gb-gobgp 10.3.0.1
  must "EoR from BIRD" saw gb 10.3.0.1 eor4
  gobgp_ gb-gobgp global rib add -a ipv4 198.18.10.0/24 community 65003:10,65003:11 \
    large-community 4200000003:10:1,4200000003:10:2 med 30 >/dev/null
  gobgp_ gb-gobgp global rib add -a ipv4 198.18.11.0/24 origin incomplete >/dev/null
  gobgp_ gb-gobgp global rib add -a ipv4 198.18.12.0/24 origin egp community no-export >/dev/null
  must "BIRD got GoBGP's routes" bird_has gb-bird gobgp '3 imported'
  must "EoR from GoBGP" saw gb 10.3.0.2 eor4
  gobgp_ gb-gobgp global rib del -a ipv4 198.18.11.0/24 >/dev/null
  must "withdrawal from GoBGP" saw gb 10.3.0.2 withdraw4
  # (gobgp neighbor X softresetin re-runs import policy on GoBGP's Adj-RIB-In; it sends no ROUTE-REFRESH)
  birdc_ gb-bird reload in gobgp >/dev/null
  must "ROUTE-REFRESH from BIRD" saw gb 10.3.0.1 refresh
  gobgp_ gb-gobgp neighbor 10.3.0.1 shutdown --reason "weft capture: GoBGP maintenance" >/dev/null
  must "Cease/2 from GoBGP" saw gb 10.3.0.2 notif:6/2
  stop_pid "$(tr -d ' \n' < "$RUN/gb-bird.pid")"
  stop_cap gb
}

# ================================================================== pair gf: GoBGP <-> FRR
pair_gf() {
  log "pair gf: GoBGP <-> FRR"
  mkns gf-gobgp; mkns gf-frr
  veth gf-frr e0 gf-gobgp e0
  addr gf-frr e0 10.4.0.1/24; addr gf-frr e0 fd00:0:0:4::1/64
  addr gf-gobgp e0 10.4.0.2/24; addr gf-gobgp e0 fd00:0:0:4::2/64
  start_cap gf-frr e0 gf
  start_frr gf-frr gf-frr.conf
  start_gobgp gf-gobgp gf-gobgp.toml
  local POKE=''
  must "gf IPv4 Established" frr_up gf-frr 10.4.0.2
  must "gf IPv6 Established" frr_up gf-frr fd00:0:0:4::2
  gobgp_ gf-gobgp global rib add -a ipv4 198.18.20.0/24 community 65003:20 large-community 4200000003:20:1 med 25 >/dev/null
  gobgp_ gf-gobgp global rib add -a ipv4 198.18.21.0/24 aspath 64999 >/dev/null
  gobgp_ gf-gobgp global rib add -a ipv6 2001:db8:320::/48 community 65003:620 large-community 4200000003:620:1 >/dev/null
  must "FRR got GoBGP's IPv4 routes" frr_pfx gf-frr ipv4 10.4.0.2 2
  must "FRR got GoBGP's IPv6 routes" frr_pfx gf-frr ipv6 fd00:0:0:4::2 1
  # No End-of-RIB either way here: FRR sends it only to peers that advertised graceful restart,
  # and this GoBGP runs without it.
  gobgp_ gf-gobgp global rib del -a ipv6 2001:db8:320::/48 >/dev/null
  must "IPv6 withdrawal from GoBGP" saw gf fd00:0:0:4::2 withdraw6

  log "gf: hold timer expiry (gobgpd stopped, FRR hold time 3 s)"
  local g; g=$(gobgp_pid)
  kill -STOP "$g"
  wait_until "Hold Timer Expired from FRR" 15 saw gf 10.4.0.1 notif:4/0 || { kill -CONT "$g"; exit 1; }
  kill -CONT "$g"
  stop_pid "$g"
  stop_pid "$(tr -d ' \n' < "$RUN/gf-frr/bgpd.pid")"
  stop_cap gf
}
gobgp_pid() {   # the gobgpd of the namespace gf-gobgp, among the PIDs this run started
  local p
  for p in "${PIDS[@]}"; do
    if alive "$p" && [ "$(cat /proc/$p/comm 2>/dev/null)" = gobgpd ] && \
       [ "$(ip netns identify "$p" 2>/dev/null)" = "$(ns gf-gobgp)" ]; then echo "$p"; return 0; fi
  done
  return 1
}

# ================================================================== pair rr: iBGP + route reflector
pair_rr() {
  log "pair rr: FRR route reflector, iBGP clients BIRD (ADD-PATH) and GoBGP"
  mkns rr-frr; mkns rr-bird; mkns rr-gobgp
  veth rr-frr e1 rr-bird e0
  veth rr-frr e2 rr-gobgp e0
  addr rr-frr e1 10.5.0.1/24; addr rr-bird e0 10.5.0.2/24
  addr rr-frr e2 10.6.0.1/24; addr rr-gobgp e0 10.6.0.2/24
  start_cap rr-bird e0 rr
  start_cap rr-gobgp e0 rrg
  start_frr rr-frr rr-frr.conf
  start_bird rr-bird rr-bird.conf
  start_gobgp rr-gobgp rr-gobgp.toml
  local POKE='birdc_ rr-bird show status'
  must "rr BIRD Established" frr_up rr-frr 10.5.0.2
  must "rr GoBGP Established" frr_up rr-frr 10.6.0.2
  gobgp_ rr-gobgp global rib add -a ipv4 172.16.30.0/24 local-pref 120 community 65010:30 \
    large-community 65010:30:1 >/dev/null
  gobgp_ rr-gobgp global rib add -a ipv4 172.16.99.0/24 local-pref 90 >/dev/null
  must "RR got GoBGP's routes" frr_pfx rr-frr ipv4 10.6.0.2 2
  must "RR got BIRD's routes" frr_pfx rr-frr ipv4 10.5.0.2 3
  # BIRD rejects the reflected GoBGP routes (next hop 10.6.0.2 is not on its link): wait on the wire.
  must "GoBGP's route reflected to BIRD" saw rr 10.5.0.1 nlri:172.16.30.0/24
  must "EoR from RR to BIRD" saw rr 10.5.0.1 eor4
  must "EoR from BIRD" saw rr 10.5.0.2 eor4
  gobgp_ rr-gobgp global rib del -a ipv4 172.16.99.0/24 >/dev/null
  must "ADD-PATH withdrawal reflected to BIRD" saw rr 10.5.0.1 withdraw4
  stop_pid "$(tr -d ' \n' < "$RUN/rr-bird.pid")"
  stop_pid "$(tr -d ' \n' < "$RUN/rr-frr/bgpd.pid")"
  stop_cap rr
  stop_cap rrg
}

# ================================================================== main
log "run $RUNID in $RUN"
pair_bf
pair_gb
pair_gf
pair_rr

cat > "$RUN/manifest.json" <<EOF
{
  "versions": {
    "bird": "$(bird --version 2>&1 | awk '{print $3}')",
    "frr": "$($FRRBIN/bgpd --version 2>&1 | awk 'NR==1{print $3}')",
    "gobgp": "$(gobgpd --version 2>&1 | awk '{print $3}')",
    "tshark": "$(tshark --version 2>/dev/null | awk 'NR==1{print $3}')"
  },
  "captures": [
    { "name": "bf", "pcap": "$RUN/bf.pcap", "hosts": {
        "10.0.0.1": "bird", "10.0.0.11": "bird", "10.0.0.21": "bird", "10.0.0.31": "bird", "fd00:0:0:1::1": "bird",
        "10.0.0.2": "frr", "10.0.0.12": "frr", "10.0.0.22": "frr", "10.0.0.32": "frr", "fd00:0:0:1::2": "frr" },
      "sessions": [
        { "addrs": ["10.0.0.1", "10.0.0.2"], "variant": "4", "label": "eBGP over IPv4, 4-octet AS" },
        { "addrs": ["fd00:0:0:1::1", "fd00:0:0:1::2"], "variant": "6", "label": "eBGP over IPv6, 4-octet AS" },
        { "addrs": ["10.0.0.11", "10.0.0.12"], "variant": "-badas", "label": "eBGP, BIRD configured with the wrong remote AS" },
        { "addrs": ["10.0.0.21", "10.0.0.22"], "variant": "-hold", "label": "eBGP, hold time 3 s, FRR bgpd stopped with SIGSTOP" },
        { "addrs": ["10.0.0.31", "10.0.0.32"], "variant": "-as2", "label": "eBGP, BIRD as 2-octet AS 65020 without the AS4 capability" } ] },
    { "name": "gb", "pcap": "$RUN/gb.pcap", "hosts": { "10.3.0.1": "bird", "10.3.0.2": "gobgp" },
      "sessions": [ { "addrs": ["10.3.0.1", "10.3.0.2"], "variant": "4", "label": "eBGP over IPv4, 4-octet AS" } ] },
    { "name": "gf", "pcap": "$RUN/gf.pcap", "hosts": { "10.4.0.1": "frr", "fd00:0:0:4::1": "frr", "10.4.0.2": "gobgp", "fd00:0:0:4::2": "gobgp" },
      "sessions": [
        { "addrs": ["10.4.0.1", "10.4.0.2"], "variant": "4", "label": "eBGP over IPv4, 4-octet AS, hold time 3 s" },
        { "addrs": ["fd00:0:0:4::1", "fd00:0:0:4::2"], "variant": "6", "label": "eBGP over IPv6, 4-octet AS, hold time 3 s" } ] },
    { "name": "rr", "pcap": "$RUN/rr.pcap", "hosts": { "10.5.0.1": "frr", "10.5.0.2": "bird" },
      "sessions": [ { "addrs": ["10.5.0.1", "10.5.0.2"], "variant": "-ibgp", "label": "iBGP AS 65010, FRR route reflector and its client BIRD, ADD-PATH" } ] },
    { "name": "rrg", "pcap": "$RUN/rrg.pcap", "hosts": { "10.6.0.1": "frr", "10.6.0.2": "gobgp" },
      "sessions": [ { "addrs": ["10.6.0.1", "10.6.0.2"], "variant": "-ibgp", "label": "iBGP AS 65010, FRR route reflector and its client GoBGP" } ] }
  ],
  "sessionFiles": { "bird-frr-ebgp.pcap": "bf", "frr-rr-ibgp-addpath.pcap": "rr" }
}
EOF
log "extracting fixtures into $OUT"
"${EXTRACT[@]}" extract "$RUN/manifest.json" "$OUT"
log "done"

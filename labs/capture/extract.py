#!/usr/bin/env python3
"""BGP fixture extractor for labs/capture/capture.sh (Python 3 standard library only).

  extract.py probe PCAP FROM_IP KIND [MIN]
      Exit 0 when the (possibly still growing) capture holds at least MIN messages of KIND sent by
      FROM_IP. KIND: open keepalive update notif notif:C/S refresh borr eorr eor4 eor6 withdraw4
      withdraw6 attr:CODE (an UPDATE carrying that attribute) nlri:PREFIX (an UPDATE announcing it).
      Used by capture.sh to wait on protocol events instead of sleeping.

  extract.py extract MANIFEST OUTDIR
      Reassembles every TCP direction of every capture named in MANIFEST (by TCP sequence number:
      retransmitted and out-of-order segments are handled), splits the byte streams into BGP
      messages by the header length, keeps each distinct message once (pcap_tcp.py, bgp_summary.py), asks tshark's BGP dissector
      for its fields and writes OUTDIR/<sender>-<receiver><session>-<what>.json, OUTDIR/sessions/*.pcap and
      OUTDIR/README.md.
"""
import ipaddress
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

from bgp_summary import describe, kind_matches, negotiated, parse, shape, what
from pcap_tcp import session_messages, write_pcap


def cmd_probe(pcap, src, kind, need=1):
    src = str(ipaddress.ip_address(src))
    n = 0
    dirs = session_messages(pcap)
    opens = {}
    for c, snd, _r, msgs in dirs:
        for _ts, m in msgs[:1]:
            if m[18] == 1:
                opens[(c, snd)] = parse(m)
    for c, snd, rcv, msgs in dirs:
        if snd[0] != src:
            continue
        ap = set(negotiated(opens.get((c, snd)), opens.get((c, rcv)))["addPath"])
        for _ts, m in msgs:
            try:
                if kind_matches(parse(m, ap), kind):
                    n += 1
            except (struct.error, IndexError, ValueError):
                pass
    return 0 if n >= int(need) else 1


# ----------------------------------------------------------------------------- tshark
def flatten(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, (dict, list)):
                if k.startswith("bgp.") and isinstance(v, list) and all(isinstance(x, str) for x in v):
                    if k != "bgp.marker":
                        out.setdefault(k, []).extend(v)
                else:
                    flatten(v, out)
            elif k.startswith("bgp.") and k != "bgp.marker":
                out.setdefault(k, []).append(v)
    elif isinstance(node, list):
        for x in node:
            flatten(x, out)


def tshark_fields(frames):
    """One dict of bgp.* fields per frame, from tshark's BGP dissector."""
    with tempfile.TemporaryDirectory(prefix="weftcap-ts-") as td:
        p = os.path.join(td, "msgs.pcap")
        write_pcap(p, frames)
        out = subprocess.run(
            ["tshark", "-n", "-r", p, "-d", "tcp.port==179,bgp", "-o", "tcp.desegment_tcp_streams:FALSE",
             "-T", "json", "--no-duplicate-keys", "-J", "bgp"],
            check=True, capture_output=True, text=True).stdout
    pkts = json.loads(out)
    res = []
    for pkt in pkts:
        layers = pkt["_source"]["layers"]
        fields = {}
        flatten(layers.get("bgp", {}), fields)
        res.append({k: (v[0] if len(v) == 1 else v) for k, v in fields.items()})
    if len(res) != len(frames):
        raise SystemExit(f"tshark returned {len(res)} packets for {len(frames)} frames")
    return res


# ----------------------------------------------------------------------------- extract
def cmd_extract(manifest_path, outdir):
    with open(manifest_path) as f:
        man = json.load(f)
    ver = man["versions"]
    norm = lambda a: str(ipaddress.ip_address(a))
    kept, seen = [], set()
    for cap in man["captures"]:
        hosts = {norm(k): v for k, v in cap["hosts"].items()}
        sess = cap["sessions"]
        tag_of = {frozenset(map(norm, s["addrs"])): s for s in sess}
        dirs = session_messages(cap["pcap"])
        if not dirs:
            raise SystemExit(f"{cap['pcap']}: no BGP data captured")
        # OPEN of each side of each connection, for the negotiated options.
        opens = {}
        for ci, snd, _rcv, msgs in dirs:
            for _ts, m in msgs:
                if m[18] == 1:
                    opens[(ci, snd)] = parse(m)
                    break
        # Deterministic order: session order of the manifest, then sender in the order of the
        # session's addrs, then time. The first copy of identical bytes wins.
        def order(x):
            ci, snd, rcv, msgs = x
            s = tag_of.get(frozenset((snd[0], rcv[0])))
            si = sess.index(s) if s else len(sess)
            ai = [norm(a) for a in s["addrs"]].index(snd[0]) if s else 0
            return (si, ai, ci)
        for ci, snd, rcv, msgs in sorted(dirs, key=order):
            s = tag_of.get(frozenset((snd[0], rcv[0])))
            if s is None:
                print(f"extract: {snd[0]} -> {rcv[0]} is not a session of {cap['name']}; skipped", file=sys.stderr)
                continue
            opts = negotiated(opens.get((ci, snd)), opens.get((ci, rcv)))
            sender, receiver = hosts.get(snd[0], snd[0]), hosts.get(rcv[0], rcv[0])
            for ts, m in msgs:
                h = m.hex()
                summary = parse(m, set(opts["addPath"]))
                sh = (sender,) + shape(summary)
                # UPDATEs of one sender on one session that get the same name (same family, kind and
                # attribute set) differ only in prefixes or attribute values: keep the first.
                nm = ("name", sender, receiver + s["variant"], what(summary)) if summary["type"] == 2 else h
                if h in seen or sh in seen or nm in seen:
                    continue
                seen.update((h, sh, nm))
                kept.append({
                    "sender": sender, "tag": receiver + s["variant"], "summary": summary, "ts": ts,
                    "frame": (snd[0], rcv[0], snd[1], rcv[1], m),
                    "fixture": {
                        "description": describe(summary, sender.upper() if sender != "gobgp" else "GoBGP"),
                        "source": f"{sender} {ver.get(sender, '?')} -> {receiver} {ver.get(receiver, '?')}, {s['label']}",
                        "options": opts,
                        "hex": h,
                    },
                })
    fields = tshark_fields([k["frame"] for k in kept])
    os.makedirs(outdir, exist_ok=True)
    names = {}
    for k, tf in zip(kept, fields):
        base = f"{k['sender']}-{k['tag']}-{what(k['summary'])}"
        n = names.get(base, 0) + 1
        names[base] = n
        k["name"] = base if n == 1 else f"{base}-{n}"
        k["fixture"]["tshark"] = tf
        k["fixture"]["capturedWith"] = f"tshark {ver.get('tshark', '?')} BGP dissector"
    # Write, keeping an "expected" decode someone added when the bytes did not change.
    written = set()
    for k in kept:
        path = os.path.join(outdir, k["name"] + ".json")
        fx = k["fixture"]
        if os.path.exists(path):
            try:
                with open(path) as f:
                    old = json.load(f)
                if "expected" in old:
                    if old.get("hex") == fx["hex"]:
                        fx["expected"] = old["expected"]
                    else:
                        print(f"extract: {k['name']}: bytes changed, dropping its old 'expected'", file=sys.stderr)
            except (OSError, ValueError):
                pass
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(fx, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
        written.add(os.path.basename(path))
    # Remove fixtures an earlier run wrote that this run did not produce.
    for fn in sorted(os.listdir(outdir)):
        if fn.endswith(".json") and fn not in written:
            try:
                with open(os.path.join(outdir, fn)) as f:
                    old = json.load(f)
            except (OSError, ValueError):
                continue
            if isinstance(old, dict) and {"hex", "source", "tshark"} <= old.keys():
                print(f"extract: removing stale fixture {fn}", file=sys.stderr)
                os.remove(os.path.join(outdir, fn))
    sdir = os.path.join(outdir, "sessions")
    os.makedirs(sdir, exist_ok=True)
    bycap = {c["name"]: c for c in man["captures"]}
    for fn, capname in man.get("sessionFiles", {}).items():
        shutil.copyfile(bycap[capname]["pcap"], os.path.join(sdir, fn))
    write_readme(outdir, kept, man)
    print(f"extract: {len(kept)} fixtures written to {outdir}", file=sys.stderr)


def write_readme(outdir, kept, man):
    v = man["versions"]
    rows = "\n".join(f"| `{k['name']}.json` | {k['fixture']['description'][:150].replace('|', '/')}"
                     f"{'...' if len(k['fixture']['description']) > 150 else ''} |" for k in kept)
    sess = "\n".join(f"- `sessions/{fn}`: the whole capture `{c}` "
                     f"({', '.join(s['label'] for s in next(x for x in man['captures'] if x['name'] == c)['sessions'])})"
                     for fn, c in man.get("sessionFiles", {}).items())
    text = f"""# proto-fixtures: real BGP messages from BIRD, FRR and GoBGP

Every `*.json` here is one BGP message that a real daemon sent on a real session, recorded by
`labs/capture/capture.sh` in network namespaces it creates (and removes) on this machine.
Generated by `labs/capture/extract.py`; do not edit by hand except to add `"expected"`.

Captured with BIRD {v.get('bird')}, FRR {v.get('frr')}, GoBGP {v.get('gobgp')}; fields from tshark {v.get('tshark')}.

## Re-running

```sh
npm run capture            # = bash labs/capture/capture.sh   (root; Debian 12 with bird2, frr, gobgpd, tcpdump, tshark)
WEFTCAP_KEEP=1 npm run capture     # keep /tmp/weftcap-*/ (pcaps, daemon configs and logs)
```

The script builds four groups of namespaces (`weftcap-<random>-<role>`, one veth per daemon pair),
starts the daemons, runs `tcpdump -U` on the veth, drives each scenario and waits for each expected
message in the capture itself (polled with a deadline), then stops everything it started by PID and
deletes the namespaces in an EXIT trap. Fixture names and bytes are stable across runs (fixed
router ids, addresses and routes); a fixture whose bytes are unchanged keeps its `"expected"` key,
one whose bytes changed loses it (with a warning), and stale generated fixtures are removed.

Scenarios: BIRD <-> FRR eBGP with 4-octet ASNs over IPv4 (`frr4` / `bird4`) and IPv6 (`frr6` /
`bird6`) transport: communities, large and extended communities, MED, AGGREGATOR, withdrawals,
End-of-RIB, route refresh and enhanced route refresh (BoRR/EoRR), RFC 9003 administrative shutdown
both ways; a wrong remote AS (`-badas`); a hold timer expiry (`-hold`); a session where BIRD is a
2-octet AS without the AS4 capability (`-as2`: AS_TRANS, AS4_PATH, AS4_AGGREGATOR, admin reset,
peer de-configured). GoBGP <-> BIRD (`bird4` / `gobgp4`: rib add with communities, withdrawal,
route refresh from BIRD, GoBGP shutdown with a reason) and GoBGP <-> FRR (`frr4`, `frr6`, FRR hold
timer expiry). An FRR route reflector with iBGP clients BIRD (ADD-PATH both ways) and GoBGP
(`-ibgp`: LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST, path identifiers).

## Format

`<sender>-<receiver><session>-<what>.json`, e.g. `bird-frr6-update-ipv6-med-comm-large.json` (BIRD
to FRR on the IPv6 eBGP session) or `frr-bird-ibgp-withdraw-ipv4-addpath.json`. `<what>` is the
message kind, the family and the notable attributes present (`med`, `localpref`, `comm`, `extcomm`,
`large`, `aggregator`, `as4path`, `reflected`, `addpath`).

```json
{{
  "description": "what the message is, in words (from our own small parser)",
  "source": "bird 2.0.12 -> frr 8.4.4, eBGP over IPv4, 4-octet AS",
  "options": {{ "fourOctetAs": true, "extendedMessage": false, "addPath": [] }},
  "hex": "ffffffffffffffffffffffffffffffff...",
  "tshark": {{ "bgp.type": "2", "bgp.update.nlri...": "..." }},
  "capturedWith": "tshark 4.0.17 BGP dissector"
}}
```

- `options` is what the session negotiated, in the shape of `WireOptions` (src/wire/types.ts),
  from the point of view of the receiver of this message: `fourOctetAs` when both OPENs carried
  capability 65, `extendedMessage` when both carried capability 6, `addPath` the `"afi/safi"`
  families where the sender advertised ADD-PATH send and the receiver ADD-PATH receive (the NLRI
  of this message then carry path identifiers).
- `hex` is the whole message, marker included.
- `tshark` holds the `bgp.*` fields tshark's BGP dissector reported for this message (a field that
  occurs several times is a list, in wire order; `bgp.marker` is left out). Each message is given to
  tshark alone in its own frame, so tshark decides 2- vs 4-octet AS and ADD-PATH heuristically;
  where that differs from `options`, `options` is right.
- `expected` (added later by another step, never by the capture) is weft's own decode,
  `messageToJson(decodeMessage(hex, options))`, written by `npx tsx labs/capture/expect.ts` (which
  flags any fixture with RFC 7606 problems or a re-encode that differs; `--check` writes nothing).
  `test/unit/wire-fixtures.test.ts` checks on every run that each fixture decodes to it, re-encodes
  byte for byte, frames whole however the stream is cut, and agrees with the `tshark` fields.
- Which messages are kept: identical bytes once (the first seen, in session order, then sender,
  then time), so there is one KEEPALIVE and retries collapse; and per sender, one UPDATE per shape
  (family, kind of NLRI, attribute codes in wire order, extended-length flags, ADD-PATH) and one
  OPEN per capability set, so the same packing of other prefixes is not repeated.

## What the real daemons did (worth knowing when decoding or interoperating)

- Attribute order is not the type-code order everywhere. FRR puts MP_REACH_NLRI first and sends
  LARGE_COMMUNITY (32) before EXTENDED_COMMUNITIES (16); BIRD puts MP_REACH_NLRI first, then the
  rest by type code; GoBGP sorts strictly by type code, so MP_REACH_NLRI (14) comes after
  COMMUNITIES and before LARGE_COMMUNITY. FRR sends AS4_PATH / AS4_AGGREGATOR last.
- Extended-length flag: FRR sets it on AS_PATH (and AS4_PATH) even when the length is 6; BIRD and
  FRR set it on MP_REACH_NLRI / MP_UNREACH_NLRI; GoBGP sets it nowhere in these captures.
- IPv6 next hop: BIRD and FRR send global + link-local (32 octets) on a shared link; GoBGP sends the
  global address only (16 octets).
- FRR gives its locally originated `network` routes MULTI_EXIT_DISC 0 even without a route-map.
- OPENs: with a 4-octet AS, My AS is 23456 (AS_TRANS) and the real AS is in capability 65. FRR
  advertises route refresh twice (codes 128 and 2), enhanced route refresh (70), extended message
  (6), ADD-PATH receive (69) for each family, FQDN (73), graceful restart (64) with the R and N
  flags set and no families, and long-lived graceful restart (71, 7 octets: IPv4 unicast, flags 0x80, stale time 0). BIRD: route refresh,
  graceful restart (aware: no families), 4-octet AS, enhanced route refresh, long-lived graceful
  restart (empty); extended message and ADD-PATH only when configured. GoBGP: route refresh, FQDN
  (the host name), multiprotocol, 4-octet AS, extended next hop (5: IPv4 unicast over IPv6 next
  hop), graceful restart only when configured; no enhanced route refresh.
- End-of-RIB: FRR sends it only to peers that advertised graceful restart; GoBGP only when its own
  graceful restart is on. The IPv4 End-of-RIB of BIRD and FRR are identical bytes (one fixture).
- Hold timer: with graceful restart negotiated, BIRD 2.0.12 closes the TCP connection on hold timer
  expiry without any NOTIFICATION (the `hold` session turns graceful restart off to get 4/0).
- On SIGTERM neither BIRD nor FRR sends a NOTIFICATION; the connections just close.
- BIRD's Bad Peer AS NOTIFICATION carries 4 octets of data: in some runs the received 4-octet AS
  (fa56ea02 = 4200000002), in others unrelated bytes that change from attempt to attempt (seen
  40418441, 900da56e), so `bird-frr-badas-notification-open-bad-peer-as.json` may change on a
  re-run; a decoder must treat that data as opaque. BIRD with `enable as4 off` still checks the AS
  from the peer's AS4 capability.
- FRR re-advertises routes to the eBGP peer it learned them from (the receiver's AS in AS_PATH),
  and as a route reflector with `addpath-tx-all-paths` it reflects a client's own routes back to it
  (ORIGINATOR_ID = the client's router id).
- BIRD (iBGP, `gateway direct`) treats reflected routes whose NEXT_HOP is not on its link as
  withdrawn. `gobgp neighbor X softresetin` sends no ROUTE-REFRESH (it re-runs local policy).

Whole captures, for `weft decode` on a real pcap:

{sess}

## Fixtures

| file | message |
|---|---|
{rows}
"""
    with open(os.path.join(outdir, "README.md"), "w") as f:
        f.write(text)


def main(argv):
    if len(argv) >= 5 and argv[1] == "probe":
        return cmd_probe(argv[2], argv[3], argv[4], argv[5] if len(argv) > 5 else 1)
    if len(argv) == 4 and argv[1] == "extract":
        cmd_extract(argv[2], argv[3])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

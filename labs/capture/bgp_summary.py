"""A small BGP message reader for naming, describing, probing and de-duplicating captured messages
(not weft's codec: just enough to tell the messages apart). Python 3 standard library only."""
import ipaddress
import struct

MSG_TYPES = {1: "OPEN", 2: "UPDATE", 3: "NOTIFICATION", 4: "KEEPALIVE", 5: "ROUTE-REFRESH"}
CAP_NAMES = {
    1: "multiprotocol", 2: "route-refresh", 5: "extended-next-hop", 6: "extended-message",
    64: "graceful-restart", 65: "4-octet-as", 69: "add-path", 70: "enhanced-route-refresh",
    71: "long-lived-graceful-restart", 73: "fqdn", 75: "software-version", 128: "route-refresh-old",
}
ATTR_NAMES = {
    1: "ORIGIN", 2: "AS_PATH", 3: "NEXT_HOP", 4: "MULTI_EXIT_DISC", 5: "LOCAL_PREF",
    6: "ATOMIC_AGGREGATE", 7: "AGGREGATOR", 8: "COMMUNITIES", 9: "ORIGINATOR_ID", 10: "CLUSTER_LIST",
    14: "MP_REACH_NLRI", 15: "MP_UNREACH_NLRI", 16: "EXTENDED_COMMUNITIES", 17: "AS4_PATH",
    18: "AS4_AGGREGATOR", 32: "LARGE_COMMUNITY",
}
NOTIF_NAMES = {
    (1, 0): "header-error", (2, 0): "open-error", (2, 2): "open-bad-peer-as",
    (2, 7): "open-unsupported-capability", (3, 0): "update-error", (4, 0): "hold-timer-expired",
    (5, 0): "fsm-error", (6, 1): "cease-max-prefixes", (6, 2): "cease-admin-shutdown",
    (6, 3): "cease-peer-deconfigured", (6, 4): "cease-admin-reset", (6, 5): "cease-connection-rejected",
    (6, 6): "cease-config-change", (6, 7): "cease-collision", (6, 8): "cease-out-of-resources",
    (6, 9): "cease-hard-reset",
}
FAMILY = {(1, 1): "ipv4", (2, 1): "ipv6"}


# ----------------------------------------------------------------------------- BGP decoding (minimal)
def prefixes(data, afi, addpath):
    out, i = [], 0
    alen = 4 if afi == 1 else 16
    while i < len(data):
        pid = None
        if addpath:
            if i + 4 > len(data):
                return out + ["<truncated>"]
            pid = struct.unpack("!I", data[i:i + 4])[0]
            i += 4
        if i >= len(data):
            return out + ["<truncated>"]
        plen = data[i]
        nb = (plen + 7) // 8
        raw = data[i + 1:i + 1 + nb]
        if len(raw) < nb or plen > alen * 8:
            return out + ["<bad prefix>"]
        addr = raw + b"\x00" * (alen - nb)
        ip = ipaddress.IPv4Address(addr) if afi == 1 else ipaddress.IPv6Address(addr)
        out.append(f"{ip}/{plen}" + (f" (path id {pid})" if pid is not None else ""))
        i += 1 + nb
    return out


def parse_attrs(data):
    attrs, i = [], 0
    while i + 3 <= len(data):
        flags, code = data[i], data[i + 1]
        if flags & 0x10:
            if i + 4 > len(data):
                break
            alen, hl = struct.unpack("!H", data[i + 2:i + 4])[0], 4
        else:
            alen, hl = data[i + 2], 3
        attrs.append((flags, code, data[i + hl:i + hl + alen]))
        i += hl + alen
    return attrs


def parse(msg, addpath=()):
    """A small summary of one BGP message: enough to name, describe and probe it."""
    t = msg[18]
    s = {"type": t, "name": MSG_TYPES.get(t, f"type-{t}")}
    body = msg[19:]
    if t == 1 and len(body) >= 10:
        s["version"], s["as"], s["hold"] = body[0], struct.unpack("!H", body[1:3])[0], struct.unpack("!H", body[3:5])[0]
        s["id"] = str(ipaddress.IPv4Address(body[5:9]))
        caps, opt, i = [], body[10:10 + body[9]], 0
        while i + 2 <= len(opt):
            ptype, plen = opt[i], opt[i + 1]
            pval = opt[i + 2:i + 2 + plen]
            if ptype == 2:
                j = 0
                while j + 2 <= len(pval):
                    caps.append((pval[j], pval[j + 2:j + 2 + pval[j + 1]]))
                    j += 2 + pval[j + 1]
            i += 2 + plen
        s["caps"] = caps
    elif t == 2 and len(body) >= 4:
        wl = struct.unpack("!H", body[:2])[0]
        withdrawn = body[2:2 + wl]
        al = struct.unpack("!H", body[2 + wl:4 + wl])[0] if len(body) >= 4 + wl else 0
        attrs = parse_attrs(body[4 + wl:4 + wl + al])
        nlri = body[4 + wl + al:]
        v4ap = "1/1" in addpath
        s["withdrawn"] = prefixes(withdrawn, 1, v4ap)
        s["nlri"] = prefixes(nlri, 1, v4ap)
        s["attrs"] = [c for _, c, _ in attrs]
        s["extlen"] = [c for f, c, _ in attrs if f & 0x10]
        for _, code, val in attrs:
            if code == 14 and len(val) >= 5:
                afi, safi, nhl = struct.unpack("!HB", val[:3]) + (val[3],)
                s["mp_family"] = (afi, safi)
                nh = val[4:4 + nhl]
                alen = 4 if afi == 1 else 16
                s["mp_nexthops"] = [str(ipaddress.ip_address(nh[k:k + alen])) for k in range(0, len(nh) - alen + 1, alen)]
                s["mp_nlri"] = prefixes(val[5 + nhl:], afi, f"{afi}/{safi}" in addpath)
            elif code == 15 and len(val) >= 3:
                afi, safi = struct.unpack("!HB", val[:3])
                s["mp_family"] = (afi, safi)
                s["mp_withdrawn"] = prefixes(val[3:], afi, f"{afi}/{safi}" in addpath)
    elif t == 3 and len(body) >= 2:
        s["code"], s["subcode"], s["data"] = body[0], body[1], body[2:]
    elif t == 5 and len(body) >= 4:
        afi, sub, safi = struct.unpack("!HBB", body[:4])
        s["family"], s["subtype"] = (afi, safi), sub
    return s


def is_eor(s, fam):
    if s["type"] != 2 or s["withdrawn"] or s["nlri"]:
        return False
    if fam == (1, 1):
        return s["attrs"] == []
    return s["attrs"] == [15] and s.get("mp_family") == fam and s.get("mp_withdrawn") == []


def kind_matches(s, kind):
    t = s["type"]
    if kind in ("open", "update", "keepalive"):
        return t == {"open": 1, "update": 2, "keepalive": 4}[kind]
    if kind == "notif":
        return t == 3
    if kind.startswith("notif:"):
        c, sc = kind[6:].split("/")
        return t == 3 and s.get("code") == int(c) and s.get("subcode") == int(sc)
    if kind in ("refresh", "borr", "eorr"):
        return t == 5 and s.get("subtype") == {"refresh": 0, "borr": 1, "eorr": 2}[kind]
    if kind == "eor4":
        return is_eor(s, (1, 1))
    if kind == "eor6":
        return is_eor(s, (2, 1))
    if kind == "withdraw4":
        return t == 2 and bool(s["withdrawn"])
    if kind == "withdraw6":
        return t == 2 and bool(s.get("mp_withdrawn")) and s.get("mp_family") == (2, 1)
    if kind.startswith("attr:"):
        return t == 2 and int(kind[5:]) in s["attrs"]
    if kind.startswith("nlri:"):
        return t == 2 and any(p.split(" ")[0] == kind[5:] for p in s["nlri"] + s.get("mp_nlri", []))
    raise SystemExit(f"unknown probe kind {kind}")


# ----------------------------------------------------------------------------- negotiation
def negotiated(open_snd, open_rcv):
    """WireOptions for messages from the OPEN_SND speaker to the OPEN_RCV speaker."""
    def caps(o):
        return {} if o is None else {c: v for c, v in reversed(o["caps"])}

    def addpath(o):
        res = {}
        if o is None:
            return res
        for code, v in o["caps"]:
            if code == 69:
                for k in range(0, len(v) - 3, 4):
                    afi, safi, mode = struct.unpack("!HBB", v[k:k + 4])
                    res[f"{afi}/{safi}"] = mode
        return res

    cs, cr = caps(open_snd), caps(open_rcv)
    both = open_snd is not None and open_rcv is not None
    aps, apr = addpath(open_snd), addpath(open_rcv)
    fams = sorted(f for f, m in aps.items() if m & 2 and apr.get(f, 0) & 1)
    return {
        "fourOctetAs": (65 in cs and 65 in cr) if both else 65 in cs,
        "extendedMessage": (6 in cs and 6 in cr) if both else False,
        "addPath": fams,
    }


def cap_text(code, val):
    name = CAP_NAMES.get(code, f"cap-{code}")
    if code == 1 and len(val) >= 4:
        return f"{name} {FAMILY.get((struct.unpack('!H', val[:2])[0], val[3]), val.hex())}"
    if code == 65 and len(val) == 4:
        return f"{name} {struct.unpack('!I', val)[0]}"
    if code == 69:
        parts = []
        for k in range(0, len(val) - 3, 4):
            afi, safi, mode = struct.unpack("!HBB", val[k:k + 4])
            parts.append(f"{FAMILY.get((afi, safi), f'{afi}/{safi}')} {['none', 'receive', 'send', 'send+receive'][mode & 3]}")
        return f"{name} ({', '.join(parts)})"
    if code == 64 and len(val) >= 2:
        rt = struct.unpack("!H", val[:2])[0]
        fams = [FAMILY.get((struct.unpack('!H', val[k:k + 2])[0], val[k + 2]), "?") for k in range(2, len(val) - 3, 4)]
        return f"{name} (flags 0x{rt >> 12:x}, time {rt & 0xFFF}s, {', '.join(fams) or 'no families'})"
    if code == 73 and len(val) >= 1:
        h = val[1:1 + val[0]].decode(errors="replace")
        return f"{name} ({h})"
    return name


def describe(s, who):
    n = s["name"]
    if s["type"] == 1:
        return (f"OPEN from {who}: version {s['version']}, My AS {s['as']}, hold time {s['hold']}, "
                f"BGP id {s['id']}; capabilities: " + "; ".join(cap_text(c, v) for c, v in s["caps"]))
    if s["type"] == 2:
        fam = FAMILY.get(s.get("mp_family"), "ipv4")
        if is_eor(s, (1, 1)):
            return f"UPDATE from {who}: IPv4 unicast End-of-RIB (empty UPDATE, RFC 4724)"
        if is_eor(s, (2, 1)):
            return f"UPDATE from {who}: IPv6 unicast End-of-RIB (MP_UNREACH_NLRI with no prefixes)"
        parts = []
        if s["withdrawn"]:
            parts.append("withdraws " + ", ".join(s["withdrawn"]))
        if s.get("mp_withdrawn"):
            parts.append(f"MP_UNREACH {fam} withdraws " + ", ".join(s["mp_withdrawn"]))
        if s["nlri"]:
            parts.append("announces " + ", ".join(s["nlri"]))
        if s.get("mp_nlri"):
            parts.append(f"MP_REACH {fam} announces " + ", ".join(s["mp_nlri"]) +
                         " via " + " + ".join(s.get("mp_nexthops", [])))
        attrs = [ATTR_NAMES.get(c, f"attr-{c}") for c in s["attrs"]]
        text = f"UPDATE from {who}: " + "; ".join(parts)
        if attrs:
            text += "; attributes in wire order: " + ", ".join(attrs)
        if s["extlen"]:
            text += "; extended-length flag on: " + ", ".join(ATTR_NAMES.get(c, str(c)) for c in s["extlen"])
        return text
    if s["type"] == 3:
        nm = NOTIF_NAMES.get((s["code"], s["subcode"]), f"code {s['code']} subcode {s['subcode']}")
        text = f"NOTIFICATION from {who}: {s['code']}/{s['subcode']} ({nm})"
        data = s["data"]
        if (s["code"], s["subcode"]) in ((6, 2), (6, 4)) and data:
            msg = data[1:1 + data[0]].decode(errors="replace")
            text += f', RFC 9003 shutdown communication "{msg}"'
        elif data:
            text += f", data {data.hex()}"
        return text
    if s["type"] == 4:
        return f"KEEPALIVE from {who}"
    if s["type"] == 5:
        sub = ["ROUTE-REFRESH request", "BoRR (begin of route refresh)", "EoRR (end of route refresh)"]
        st = sub[s["subtype"]] if s["subtype"] < 3 else f"subtype {s['subtype']}"
        return f"ROUTE-REFRESH from {who}: {st} for {FAMILY.get(s['family'], s['family'])}"
    return f"{n} from {who}"


def what(s):
    """The <what> part of a fixture name."""
    t = s["type"]
    if t == 1:
        return "open"
    if t == 4:
        return "keepalive"
    if t == 3:
        return "notification-" + NOTIF_NAMES.get((s["code"], s["subcode"]), f"{s['code']}-{s['subcode']}")
    if t == 5:
        fam = FAMILY.get(s["family"], "other")
        return ["route-refresh", "borr", "eorr"][s["subtype"]] + "-" + fam if s["subtype"] < 3 else "route-refresh-x"
    if t == 2:
        if is_eor(s, (1, 1)):
            return "eor-ipv4"
        if is_eor(s, (2, 1)):
            return "eor-ipv6"
        fam = FAMILY.get(s.get("mp_family"), "ipv4")
        announces = bool(s["nlri"] or s.get("mp_nlri"))
        withdraws = bool(s["withdrawn"] or s.get("mp_withdrawn"))
        base = ("update" if announces else "withdraw") + "-" + fam
        if announces and withdraws:
            base += "-mixed"
        a = set(s["attrs"])
        hints = []
        if " (path id" in " ".join(s["nlri"] + s["withdrawn"] + s.get("mp_nlri", []) + s.get("mp_withdrawn", [])):
            hints.append("addpath")
        if 9 in a or 10 in a:
            hints.append("reflected")
        if 17 in a or 18 in a:
            hints.append("as4path")
        if 7 in a:
            hints.append("aggregator")
        for code, h in ((4, "med"), (5, "localpref"), (8, "comm"), (16, "extcomm"), (32, "large")):
            if code in a:
                hints.append(h)
        return "-".join([base] + hints)
    return f"type-{t}"


def shape(s):
    """What makes a message worth a fixture of its own, beyond its bytes: for one sender, UPDATEs
    with the same family, kinds of NLRI and attribute list (codes, order, extended-length flags)
    and OPENs with the same capabilities (apart from the AS number and host name) are kept once."""
    t = s["type"]
    if t == 1:
        return ("open", s["as"] == 23456, tuple((c, v) for c, v in s["caps"] if c not in (65, 73)))
    if t == 2:
        every = s["nlri"] + s["withdrawn"] + s.get("mp_nlri", []) + s.get("mp_withdrawn", [])
        return ("update", s.get("mp_family"), bool(s["nlri"]), bool(s["withdrawn"]),
                bool(s.get("mp_nlri")), bool(s.get("mp_withdrawn")), tuple(s["attrs"]), tuple(s["extlen"]),
                any("(path id" in p for p in every))
    if t == 3:  # one per code/subcode: BIRD's Bad Peer AS data varies between attempts
        return ("notification", s["code"], s["subcode"])
    if t == 5:
        return ("refresh", s["family"], s["subtype"])
    return ("other", t)

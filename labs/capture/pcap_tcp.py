"""Classic pcap files: read TCP segments, reassemble each direction of each connection by sequence
number (retransmissions and out-of-order segments handled), split the byte streams into BGP
messages; and write one-message-per-frame pcaps for tshark. Python 3 standard library only."""
import bisect
import ipaddress
import struct
import sys

MARKER = b"\xff" * 16


# ----------------------------------------------------------------------------- pcap reading
def read_pcap(path):
    """Yield (ts, src, sport, dst, dport, seq, flags, payload) for each TCP segment."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return
    if len(data) < 24:
        return
    magic = data[:4]
    if magic == b"\xd4\xc3\xb2\xa1":
        end, div = "<", 1e6
    elif magic == b"\xa1\xb2\xc3\xd4":
        end, div = ">", 1e6
    elif magic == b"\x4d\x3c\xb2\xa1":
        end, div = "<", 1e9
    elif magic == b"\xa1\xb2\x3c\x4d":
        end, div = ">", 1e9
    else:
        raise SystemExit(f"{path}: not a classic pcap file (pcapng is not supported)")
    (linktype,) = struct.unpack(end + "I", data[20:24])
    off = 24
    while off + 16 <= len(data):
        ts_s, ts_f, incl, _orig = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        if off + incl > len(data):
            break  # a record still being written
        frame = data[off:off + incl]
        off += incl
        seg = parse_frame(linktype, frame)
        if seg:
            yield (ts_s + ts_f / div,) + seg


def parse_frame(linktype, frame):
    if linktype == 1:  # Ethernet
        etype, p = struct.unpack("!H", frame[12:14])[0], 14
        while etype in (0x8100, 0x88A8) and len(frame) >= p + 4:
            etype, p = struct.unpack("!H", frame[p + 2:p + 4])[0], p + 4
    elif linktype == 113:  # Linux cooked
        etype, p = struct.unpack("!H", frame[14:16])[0], 16
    elif linktype == 276:  # Linux cooked v2
        etype, p = struct.unpack("!H", frame[0:2])[0], 20
    elif linktype in (101, 12):  # raw IP
        etype, p = (0x0800 if frame[:1] and frame[0] >> 4 == 4 else 0x86DD), 0
    else:
        return None
    if etype == 0x0800 and len(frame) >= p + 20:
        ihl = (frame[p] & 0x0F) * 4
        total = struct.unpack("!H", frame[p + 2:p + 4])[0]
        if frame[p + 9] != 6:
            return None
        src = str(ipaddress.IPv4Address(frame[p + 12:p + 16]))
        dst = str(ipaddress.IPv4Address(frame[p + 16:p + 20]))
        tcp = frame[p + ihl:p + total]
    elif etype == 0x86DD and len(frame) >= p + 40:
        plen = struct.unpack("!H", frame[p + 4:p + 6])[0]
        if frame[p + 6] != 6:
            return None  # extension headers are not expected on these links
        src = str(ipaddress.IPv6Address(frame[p + 8:p + 24]))
        dst = str(ipaddress.IPv6Address(frame[p + 24:p + 40]))
        tcp = frame[p + 40:p + 40 + plen]
    else:
        return None
    if len(tcp) < 20:
        return None
    sport, dport, seq, _ack, doff_flags = struct.unpack("!HHIIH", tcp[:14])
    doff = (doff_flags >> 12) * 4
    return (src, sport, dst, dport, seq, doff_flags & 0x1FF, bytes(tcp[doff:]))


SYN, ACK = 0x02, 0x10


class Direction:
    def __init__(self):
        self.isn = None
        self.segs = []  # (seq, ts, data)


class Conn:
    def __init__(self, index, first_ts):
        self.index = index
        self.first_ts = first_ts
        self.dirs = {}  # (ip, port) of the sender -> Direction


def connections(path):
    """TCP connections in order of their first packet; a new SYN on a used 4-tuple starts a new one."""
    current, done, n = {}, [], 0
    for ts, src, sport, dst, dport, seq, flags, payload in read_pcap(path):
        a, b = (src, sport), (dst, dport)
        key = (a, b) if a < b else (b, a)
        c = current.get(key)
        if flags & SYN and not flags & ACK and c is not None:
            d = c.dirs.get(a)
            if d is not None and (d.isn != seq or any(x.segs for x in c.dirs.values())):
                done.append(c)
                c = None
        if c is None:
            c = current[key] = Conn(n, ts)
            n += 1
        d = c.dirs.setdefault(a, Direction())
        if flags & SYN:
            d.isn = seq
        if payload:
            d.segs.append((seq, ts, payload))
    done.extend(current.values())
    done.sort(key=lambda c: c.index)
    return done


def reassemble(d):
    """Byte stream of one direction, ordered by sequence number, plus (offset, ts) marks."""
    if not d.segs:
        return b"", []
    base = (d.isn + 1) & 0xFFFFFFFF if d.isn is not None else min(s for s, _, _ in d.segs)
    rel = []
    for seq, ts, data in d.segs:
        r = (seq - base) & 0xFFFFFFFF
        if r >= 0x80000000:  # before the start (only possible without a SYN): skip
            continue
        rel.append((r, ts, data))
    rel.sort(key=lambda x: (x[0], x[1]))
    buf, marks, cursor = bytearray(), [], 0
    for r, ts, data in rel:
        end = r + len(data)
        if end <= cursor:
            continue  # retransmission of data we already have
        if r > cursor:
            print(f"extract: gap in TCP stream at offset {cursor}; stopping this direction", file=sys.stderr)
            break
        marks.append((cursor, ts))
        buf += data[cursor - r:]
        cursor = end
    return bytes(buf), marks


def split_messages(buf, marks):
    out, off = [], 0
    offs = [m[0] for m in marks]
    while off + 19 <= len(buf):
        if buf[off:off + 16] != MARKER:
            print(f"extract: bad BGP marker at offset {off}; stopping this direction", file=sys.stderr)
            break
        length = struct.unpack("!H", buf[off + 16:off + 18])[0]
        if length < 19:
            print(f"extract: bad BGP length {length} at offset {off}", file=sys.stderr)
            break
        if off + length > len(buf):
            break  # incomplete: the capture ended (or is still running)
        i = bisect.bisect_right(offs, off + length - 1) - 1
        out.append((marks[i][1] if i >= 0 else 0.0, buf[off:off + length]))
        off += length
    return out


def session_messages(path):
    """[(conn_index, sender (ip,port), receiver (ip,port), [(ts, bytes)])] for each direction."""
    res = []
    for c in connections(path):
        peers = list(c.dirs.keys())
        for snd, d in c.dirs.items():
            rcv = next((p for p in peers if p != snd), None)
            if rcv is None:  # a direction that never sent anything: find it from the other side
                continue
            buf, marks = reassemble(d)
            res.append((c.index, snd, rcv, split_messages(buf, marks)))
    return res


def write_pcap(path, frames):
    """frames: [(src_ip, dst_ip, sport, dport, payload)] -> one Ethernet/IP/TCP frame each."""
    nxt = {}  # per 4-tuple: next sequence number, so tshark sees contiguous data, not retransmissions
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for n, (src, dst, sport, dport, payload) in enumerate(frames):
            seq = nxt.get((src, sport, dst, dport), 1)
            nxt[(src, sport, dst, dport)] = (seq + len(payload)) & 0xFFFFFFFF
            tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 1, 5 << 4, 0x18, 65535, 0, 0) + payload
            s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
            if s.version == 4:
                ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), n & 0xFFFF, 0x4000, 64, 6, 0,
                                 s.packed, d.packed)
                eth_type = 0x0800
            else:
                ip = struct.pack("!IHBB16s16s", 6 << 28, len(tcp), 6, 64, s.packed, d.packed)
                eth_type = 0x86DD
            frame = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + struct.pack("!H", eth_type) + ip + tcp
            f.write(struct.pack("<IIII", 1_700_000_000 + n, 0, len(frame), len(frame)))
            f.write(frame)

/**
 * Valid UPDATE messages from a generator, many of them at the size limit of the session (4096
 * octets, or 65535 with RFC 8654 extended messages): one attribute made as large as the message
 * allows (an unknown optional transitive attribute, a long AS_PATH of AS_SEQUENCE or AS_SET
 * segments, COMMUNITIES, LARGE_COMMUNITY, EXTENDED_COMMUNITIES, CLUSTER_LIST) or as many prefixes
 * as fit; IPv4 in the NLRI field, IPv6 and IPv4 in MP_REACH_NLRI (IPv4 also over an IPv6 next hop,
 * RFC 8950), withdrawals in both places, path ids on ADD-PATH sessions, AS_TRANS with AS4_PATH
 * and AS4_AGGREGATOR from 2-octet-AS speakers (RFC 6793).
 */
import { v4Prefix, type Prefix, type V4Prefix } from '../../src/lib/prefix.js';
import { attr, vxlanTunnelAttribute } from '../../src/wire/attr-build.js';
import { AS_TRANS, AttrFlag, WellKnownCommunity } from '../../src/wire/iana.js';
import { v4PrefixSize, v6PrefixSize } from '../../src/wire/nlri.js';
import { familyKey, type AsPathSegment, type ExtCommunity, type PathAttribute, type TunnelTlv, type UpdateMessage, type WireOptions } from '../../src/wire/types.js';
import { encodeUpdate } from '../../src/wire/update.js';
import type { Rng } from './rng.js';

export interface GenPeer {
  readonly type: 'ibgp' | 'ebgp';
  /** The sender's AS: first in the AS_PATH it sends over eBGP. */
  readonly asn: number;
  /** What we negotiated with the sender (how its messages are written). */
  readonly opts: WireOptions;
}

export const FILLERS = ['none', 'unknown', 'as-path', 'as-set', 'communities', 'large', 'ext', 'cluster', 'prefixes'] as const;
export type Filler = (typeof FILLERS)[number];

export interface Generated {
  bytes: Uint8Array;
  family: string;
  filler: Filler;
}

const E = AttrFlag.EXTENDED_LENGTH;
const OT = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE;

// ---------------------------------------------------------------- the prefix universe

/** In the fuzz pools mostly; a few outside, a default route, one covering the underlay 10.0.1.0/24. */
function v4(rng: Rng): V4Prefix {
  const r = rng.int(100);
  if (r < 35) return v4Prefix(((10 << 24) | (244 << 16) | (rng.int(64) << 8) | (rng.int(4) << 6)) >>> 0, 26);
  if (r < 65) return v4Prefix(((10 << 24) | (244 << 16) | (rng.int(256) << 8)) >>> 0, 24);
  if (r < 85) return v4Prefix(((10 << 24) | (244 << 16) | (200 << 8) | rng.int(256)) >>> 0, 32);
  if (r < 95) return v4Prefix(((192 << 24) | (168 << 16) | (rng.int(16) << 8)) >>> 0, 24);
  if (r < 97) return v4Prefix((10 << 24) >>> 0, 8);
  return rng.chance(0.5) ? 0 : v4Prefix(((10 << 24) | (244 << 16)) >>> 0, 16);
}

function v6(rng: Rng): string {
  const r = rng.int(100);
  if (r < 60) return `fd00:244:0:${rng.int(1024).toString(16)}::/64`;
  if (r < 85) return `fd00:244:0:ff00::${rng.int(256).toString(16)}/128`;
  if (r < 97) return `2001:db8:${rng.int(16).toString(16)}::/48`;
  return '::/0';
}

// ---------------------------------------------------------------- attributes

function asn(rng: Rng, four: boolean): number {
  return four && rng.chance(0.4) ? 4_200_000_000 + rng.int(1000) : 64_600 + rng.int(400);
}

/** Segments of 2-octet ASNs with AS_TRANS where the real one is wider, and the AS4_PATH. */
function twoOctet(segs: AsPathSegment[]): { path: AsPathSegment[]; as4?: AsPathSegment[] } {
  const wide = segs.some((s) => s.asns.some((n) => n > 0xffff));
  if (!wide) return { path: segs };
  return { path: segs.map((s) => ({ kind: s.kind, asns: s.asns.map((n) => (n > 0xffff ? AS_TRANS : n)) })), as4: segs.filter((s) => s.kind === 'sequence' || s.kind === 'set') };
}

function baseAttributes(rng: Rng, peer: GenPeer, v4NextHop: boolean): { attrs: PathAttribute[]; head: AsPathSegment[] } {
  const four = peer.opts.fourOctetAs;
  const head: AsPathSegment[] = [];
  if (peer.type === 'ibgp' && rng.chance(0.15)) head.push({ kind: 'confed-sequence', asns: [65_500 + rng.int(10)] });
  const seq = peer.type === 'ebgp' ? [peer.asn] : [];
  for (let i = rng.int(peer.type === 'ebgp' ? 5 : 3); i > 0; i--) seq.push(asn(rng, true));
  if (seq.length > 0) head.push({ kind: 'sequence', asns: seq });
  if (rng.chance(0.1)) head.push({ kind: 'set', asns: [asn(rng, true), asn(rng, true)] });
  const attrs: PathAttribute[] = [attr.origin(rng.int(3))];
  if (v4NextHop || rng.chance(0.05)) attrs.push(attr.nextHop(`10.0.${rng.int(4)}.${1 + rng.int(250)}`));
  if (rng.chance(0.3)) attrs.push(attr.med(rng.u32()));
  if (peer.type === 'ibgp' ? rng.chance(0.9) : rng.chance(0.05)) attrs.push(attr.localPref(rng.pick([50, 100, 100, 200, 0xffffffff])));
  if (rng.chance(0.05)) attrs.push(attr.atomicAggregate());
  if (rng.chance(0.05)) {
    const a = asn(rng, true);
    if (four || a <= 0xffff) attrs.push(attr.aggregator(a, '10.9.9.9'));
    else attrs.push(attr.aggregator(AS_TRANS, '10.9.9.9'), attr.as4Aggregator(a, '10.9.9.9'));
  }
  if (rng.chance(0.3)) {
    const cs = Array.from({ length: 1 + rng.int(4) }, () => rng.u32());
    if (rng.chance(0.05)) cs.push(WellKnownCommunity.NO_EXPORT);
    if (rng.chance(0.02)) cs.push(WellKnownCommunity.NO_ADVERTISE);
    if (rng.chance(0.05)) cs.push(65535 * 65536 + 666); // rejected by a rule of the external peers (worlds.ts)
    attrs.push(attr.communities(cs));
  }
  if (rng.chance(0.15)) attrs.push(attr.largeCommunities([[rng.u32(), rng.u32(), rng.u32()]]));
  if (rng.chance(0.15)) attrs.push(attr.extCommunities([rng.pick(EXT)(rng)]));
  if (peer.type === 'ibgp' && rng.chance(0.15)) {
    attrs.push(attr.originatorId(rng.chance(0.1) ? '10.0.1.9' : `10.0.2.${1 + rng.int(200)}`)); // 10.0.1.9: ours (a loop)
    attrs.push(attr.clusterList(rng.chance(0.1) ? ['10.0.1.9'] : ['10.7.7.7']));
  }
  if (rng.chance(0.1)) attrs.push(tunnelEncap(rng));
  if (rng.chance(0.1)) attrs.push(attr.unknown(200 + rng.int(40), rng.bytes(rng.int(40)), rng.chance(0.8) ? OT : AttrFlag.OPTIONAL));
  return { attrs, head };
}

/**
 * An RFC 9012 Tunnel Encapsulation attribute: VXLAN with a VNI, maybe a MAC and an IPv4 / IPv6
 * egress; sometimes an unknown sub-TLV in it (kept byte for byte) or a second, IP-in-IP, tunnel.
 */
function tunnelEncap(rng: Rng): PathAttribute {
  const mac = rng.chance(0.5) ? `02:00:0a:00:${rng.int(256).toString(16).padStart(2, '0')}:01` : undefined;
  const egress = rng.pick([undefined, `10.0.${rng.int(4)}.${1 + rng.int(250)}`, `fd00::${(1 + rng.int(250)).toString(16)}`]);
  const a = vxlanTunnelAttribute(rng.int(0x1000000), mac, egress);
  const tunnels: TunnelTlv[] = [...a.tunnels];
  if (rng.chance(0.3)) tunnels[0] = { ...tunnels[0], subTlvs: [...tunnels[0].subTlvs, { type: 'unknown', code: rng.pick([64, 126, 200, 254]), data: rng.bytes(rng.int(20)) }] };
  if (rng.chance(0.3)) tunnels.push({ tunnelType: 7, subTlvs: [{ type: 'egress-endpoint', address: `10.0.${rng.int(4)}.${1 + rng.int(250)}` }, { type: 'udp-port', port: 1 + rng.int(0xffff) }] });
  return { ...a, tunnels };
}

const EXT: ((rng: Rng) => ExtCommunity)[] = [
  (rng) => ({ type: 'encapsulation', tunnelType: rng.pick([7, 8]) }),
  (rng) => ({ type: 'router-mac', mac: `02:00:0a:00:${rng.int(256).toString(16).padStart(2, '0')}:01` }),
  (rng) => ({ type: 'route-target', global: 64_512 + rng.int(100), local: rng.u32() }),
  (rng) => ({ type: 'raw', hex: Array.from(rng.bytes(8), (x) => x.toString(16).padStart(2, '0')).join('') }),
];

/** An unknown optional transitive attribute of exactly `octets` octets (at least 3). */
function pad(rng: Rng, octets: number): PathAttribute {
  return octets - 3 <= 255 ? attr.unknown(241 + rng.int(8), new Uint8Array(octets - 3), OT) : attr.unknown(241 + rng.int(8), new Uint8Array(octets - 4), OT | E);
}

/** `n` items of `unit` octets in an attribute with a 4-octet header, then a pad, filling `room` exactly where it can. */
function countFor(room: number, unit: number): { n: number; rest: number } {
  let n = Math.floor((room - 4) / unit);
  let rest = room - 4 - n * unit;
  while (n > 1 && rest > 0 && rest < 3) {
    n--;
    rest += unit;
  }
  return { n: Math.max(n, 0), rest };
}

/** The filler attributes taking `room` octets (or a little less); [] when there is no room. */
function fill(rng: Rng, f: Filler, room: number, peer: GenPeer, asPath: AsPathSegment[]): PathAttribute[] {
  if (room < 8) return room >= 3 ? [pad(rng, room)] : [];
  const w = peer.opts.fourOctetAs ? 4 : 2;
  const out: PathAttribute[] = [];
  let rest = 0;
  switch (f) {
    case 'unknown':
      out.push(attr.unknown(250 + rng.int(5), rng.bytes(room - 4), OT | E));
      break;
    case 'communities': {
      const c = countFor(room, 4);
      out.push({ ...attr.communities(Array.from({ length: c.n }, () => rng.u32())), flags: OT | E });
      rest = c.rest;
      break;
    }
    case 'large': {
      const c = countFor(room, 12);
      if (c.n === 0) return [pad(rng, room)];
      out.push({ ...attr.largeCommunities(Array.from({ length: c.n }, (): [number, number, number] => [rng.u32(), rng.u32(), rng.u32()])), flags: OT | E });
      rest = c.rest;
      break;
    }
    case 'ext': {
      const c = countFor(room, 8);
      out.push({ ...attr.extCommunities(Array.from({ length: c.n }, () => rng.pick(EXT)(rng))), flags: OT | E });
      rest = c.rest;
      break;
    }
    case 'cluster': {
      const c = countFor(room, 4);
      out.push({ ...attr.clusterList(Array.from({ length: c.n }, (_, i) => `10.8.${(i >> 8) & 255}.${i & 255}`)), flags: AttrFlag.OPTIONAL | E });
      rest = c.rest;
      break;
    }
    case 'as-path':
    case 'as-set': {
      // More segments after the head, in the AS_PATH attribute itself (its header is counted in the base).
      // From a 2-octet-AS speaker whose path has wider AS numbers, AS4_PATH (RFC 6793) carries
      // every segment again in 4 octets: each added AS costs 2 + 4 octets, each segment 2 + 2.
      const as4 = !peer.opts.fourOctetAs && asPath.some((s) => s.asns.some((n) => n > 0xffff));
      const unit = as4 ? 6 : w;
      const segment = as4 ? 4 : 2;
      let left = room;
      const kind = f === 'as-set' ? 'set' : 'sequence';
      while (left >= segment + unit) {
        const k = Math.min(255, Math.floor((left - segment) / unit));
        asPath.push({ kind: asPath.length > 0 && rng.chance(0.2) ? 'set' : kind, asns: Array.from({ length: k }, () => (w === 4 ? asn(rng, true) : 64_600 + rng.int(400))) });
        left -= segment + k * unit;
      }
      rest = left;
      break;
    }
    default:
      return [];
  }
  if (rest >= 3) out.push(pad(rng, rest));
  return out;
}

// ---------------------------------------------------------------- the message

const REPLACES: Partial<Record<Filler, PathAttribute['type']>> = { communities: 'communities', large: 'large-communities', ext: 'ext-communities', cluster: 'cluster-list' };

function size(m: UpdateMessage, opts: WireOptions): number {
  return encodeUpdate(m, { ...opts, extendedMessage: true }).length;
}

/**
 * One valid UPDATE from `peer`. `atLimit`: filled to the session's maximum size (or within a few
 * octets of it).
 */
export function generateUpdate(rng: Rng, peer: GenPeer, atLimit: boolean): Generated {
  const opts = peer.opts;
  const max = opts.extendedMessage ? 65_535 : 4096;
  const v4AddPath = opts.addPath.has(familyKey(1, 1));
  const v6AddPath = opts.addPath.has(familyKey(2, 1));
  const family = rng.pick(['v4', 'v4', 'v4', 'v6', 'v6', 'v4-mp', 'v4-mp-v6-next-hop', 'withdraw', 'mixed']);
  const announcesV4 = family === 'v4' || family === 'mixed';
  const { attrs, head } = baseAttributes(rng, peer, announcesV4);
  const m: UpdateMessage = { type: 'update', withdrawn: [], attributes: [], nlri: [] };
  const ids = (n: number) => Array.from({ length: n }, () => 1 + rng.int(4));
  let mp: { afi: number; nextHop: string[]; nlri: Prefix[]; pathIds?: number[] } | undefined;
  let unreach: { nlri: string[]; pathIds?: number[] } | undefined;
  const count = () => (rng.chance(0.7) ? 1 + rng.int(3) : 1 + rng.int(60));
  if (announcesV4) m.nlri = Array.from({ length: count() }, () => v4(rng));
  if (family === 'v6' || family === 'mixed') {
    mp = { afi: 2, nextHop: rng.chance(0.3) ? [`fd00::${1 + rng.int(200)}`, 'fe80::1'] : [`fd00::${1 + rng.int(200)}`], nlri: Array.from({ length: count() }, () => v6(rng)) };
  } else if (family === 'v4-mp' || family === 'v4-mp-v6-next-hop') {
    const nh = family === 'v4-mp' ? `10.0.${rng.int(4)}.${1 + rng.int(250)}` : `fd00::${1 + rng.int(200)}`;
    mp = { afi: 1, nextHop: [nh], nlri: Array.from({ length: count() }, () => v4(rng)) };
  }
  if (family === 'withdraw' || family === 'mixed' || rng.chance(0.1)) {
    m.withdrawn = Array.from({ length: count() }, () => v4(rng));
    unreach = { nlri: Array.from({ length: rng.int(4) }, () => v6(rng)) };
  }
  const onlyWithdraw = family === 'withdraw';
  const filler: Filler = atLimit ? rng.pick(FILLERS.filter((f) => f !== 'none' && (f !== 'cluster' || peer.type === 'ibgp'))) : 'none';
  // The filler replaces a base attribute of its type (an attribute twice is not a valid UPDATE).
  const replaced = REPLACES[filler];
  if (replaced !== undefined) for (let i = attrs.length - 1; i >= 0; i--) if (attrs[i].type === replaced) attrs.splice(i, 1);
  const asPath = head.map((s) => ({ kind: s.kind, asns: [...s.asns] }));

  const build = (extra: PathAttribute[]): UpdateMessage => {
    const list: PathAttribute[] = [];
    if (mp !== undefined) {
      const addPath = mp.afi === 1 ? v4AddPath : v6AddPath;
      list.push(attr.mpReach({ afi: mp.afi, safi: 1, nextHop: mp.nextHop, nlri: mp.nlri, ...(addPath ? { pathIds: mp.pathIds ?? (mp.pathIds = ids(mp.nlri.length)) } : {}) }));
    }
    if (unreach !== undefined && unreach.nlri.length > 0) {
      list.push(attr.mpUnreach({ afi: 2, safi: 1, withdrawn: unreach.nlri, ...(v6AddPath ? { pathIds: unreach.pathIds ?? (unreach.pathIds = ids(unreach.nlri.length)) } : {}) }));
    }
    if (!onlyWithdraw) {
      const path = opts.fourOctetAs ? { path: asPath } : twoOctet(asPath);
      list.push(attrs[0], { ...attr.asPath(path.path), flags: attr.asPath([]).flags | E }, ...attrs.slice(1));
      if (path.as4 !== undefined) list.push({ ...attr.as4Path(path.as4), flags: attr.as4Path([]).flags | E });
    }
    list.push(...extra);
    const out: UpdateMessage = { ...m, attributes: list };
    if (v4AddPath) {
      out.nlriPathIds = ids(m.nlri.length);
      out.withdrawnPathIds = ids(m.withdrawn.length);
    }
    return out;
  };

  let msg = build([]);
  if (filler !== 'none') {
    const target = max - (rng.chance(0.6) ? 0 : rng.int(12));
    const room = target - size(msg, opts);
    if (filler === 'prefixes') {
      let left = room;
      const list = onlyWithdraw ? m.withdrawn : mp !== undefined ? mp.nlri : m.nlri;
      const addPath = list === m.withdrawn || list === m.nlri ? v4AddPath : mp?.afi === 1 ? v4AddPath : v6AddPath;
      const v6List = mp !== undefined && mp.afi === 2 && list === mp.nlri;
      for (;;) {
        const p: Prefix = v6List ? v6(rng) : v4(rng);
        const s = (addPath ? 4 : 0) + (typeof p === 'number' ? v4PrefixSize(p) : v6PrefixSize(p));
        if (s > left) break;
        list.push(p);
        left -= s;
      }
      if (mp?.pathIds !== undefined) mp.pathIds = undefined;
      msg = build(left >= 3 ? [pad(rng, left)] : []);
    } else {
      if (onlyWithdraw) {
        msg = build(fill(rng, 'unknown', room, peer, asPath)); // attributes without routes: valid, ignored
      } else {
        msg = build(fill(rng, filler, room, peer, asPath));
      }
    }
  }
  return { bytes: encodeUpdate(msg, opts), family, filler };
}

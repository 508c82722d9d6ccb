// The messages wire-tshark.test.ts sends: what weft means (plain values) and the bytes weft's
// encoder makes of them. The test compares tshark's dissection of the captured bytes with the
// plain values here, never with weft's own decoder.
import { parsePrefix, type Prefix } from '../../../src/lib/prefix.js';
import { attr, packUpdates } from '../../../src/wire/update-pack.js';
import { vxlanTunnelAttribute } from '../../../src/wire/attr-build.js';
import { endOfRibBytes } from '../../../src/wire/eor.js';
import { Afi, CeaseSubcode, Origin, Safi, TunnelType, WellKnownCommunity } from '../../../src/wire/iana.js';
import { encodeMessage } from '../../../src/wire/message.js';
import { buildShutdown } from '../../../src/wire/notification.js';
import { buildOpen } from '../../../src/wire/open.js';
import type { AsPathSegment, BgpMessage, Capability, WireOptions } from '../../../src/wire/types.js';

export const WIRE: WireOptions = { fourOctetAs: true, extendedMessage: false, addPath: new Set() };

// ---------------------------------------------------------------- OPEN

export const OPEN = {
  asn: 4200000001,
  holdTime: 90,
  bgpId: '10.0.0.1',
  grTime: 120,
  grFlags: 0x8, // Restart State
  hostname: 'weft-host-a',
  domain: 'example.net',
} as const;

export const OPEN_CAPS: Capability[] = [
  { type: 'multiprotocol', afi: Afi.IPV4, safi: Safi.UNICAST },
  { type: 'multiprotocol', afi: Afi.IPV6, safi: Safi.UNICAST },
  { type: 'route-refresh' },
  { type: 'enhanced-route-refresh' },
  { type: 'four-octet-as', asn: OPEN.asn },
  {
    type: 'graceful-restart',
    flags: OPEN.grFlags,
    time: OPEN.grTime,
    families: [
      { afi: Afi.IPV4, safi: Safi.UNICAST, flags: 0x80 },
      { afi: Afi.IPV6, safi: Safi.UNICAST, flags: 0x00 },
    ],
  },
  // Receive only (1), so the UPDATEs below rightly carry no path identifiers.
  { type: 'add-path', families: [{ afi: Afi.IPV4, safi: Safi.UNICAST, sendReceive: 1 }, { afi: Afi.IPV6, safi: Safi.UNICAST, sendReceive: 1 }] },
  { type: 'fqdn', hostname: OPEN.hostname, domain: OPEN.domain },
];

// ---------------------------------------------------------------- UPDATE contents

const p = (t: string): Prefix => parsePrefix(t);

/** 2000 /24s (10.100.0.0 .. 10.107.207.0), then one each of /8, /16, /25, /32. */
export const V4_ANNOUNCE: string[] = [
  ...Array.from({ length: 2000 }, (_, i) => `10.${100 + (i >> 8)}.${i & 255}.0/24`),
  '11.0.0.0/8',
  '172.20.0.0/16',
  '192.168.7.128/25',
  '198.51.100.77/32',
];
export const V4_WITHDRAW = ['10.99.1.0/24', '10.98.0.0/16', '192.0.2.128/25', '203.0.113.9/32', '12.0.0.0/8'];
/** 600 /64s (RFC 5952 text, as tshark prints it), then a /48, a /56 and a /128. */
export const V6_ANNOUNCE: string[] = [
  ...Array.from({ length: 600 }, (_, i) => {
    const hi = (0x100 + (i >> 8)).toString(16);
    return (i & 255) === 0 ? `2001:db8:${hi}::/64` : `2001:db8:${hi}:${(i & 255).toString(16)}::/64`;
  }),
  '2001:db8:ff00::/48',
  '2001:db8:fe00:ab00::/56',
  '2001:db8::1234/128',
];
export const V6_WITHDRAW = ['2001:db8:dead::/48', '2001:db8:beef:1::/64', 'fd00:1::/32'];
export const V6_NEXT_HOP = ['2001:db8:0:1::1', 'fe80::1:2ff:fe03:405'];

export const AS_PATH: AsPathSegment[] = [
  { kind: 'sequence', asns: [4200000001, 65001, 4200000002] },
  { kind: 'set', asns: [64512, 4200000003, 70000] },
];
export const ATTRS = {
  origin: Origin.IGP,
  nextHop: '10.0.0.1',
  med: 50,
  localPref: 200,
  communities: [(65001 << 16) + 100, (65001 << 16) + 200, WellKnownCommunity.NO_EXPORT].map((c) => c >>> 0),
  large: [
    [4200000001, 1, 2],
    [4200000002, 4294967295, 0],
  ] as [number, number, number][],
  tunnelType: TunnelType.VXLAN,
  routerMac: '02:42:0a:00:00:01',
  vni: 4096,
  vtep: '10.0.1.11',
  originatorId: '10.0.0.9',
  clusterList: ['10.0.0.100', '10.0.0.101'],
  aggregatorAs: 4200000001,
  aggregatorAddress: '10.0.0.1',
};

function attributes(withNextHop: boolean) {
  return [
    attr.origin(ATTRS.origin),
    attr.asPath(AS_PATH),
    ...(withNextHop ? [attr.nextHop(ATTRS.nextHop)] : []),
    attr.med(ATTRS.med),
    attr.localPref(ATTRS.localPref),
    attr.aggregator(ATTRS.aggregatorAs, ATTRS.aggregatorAddress),
    attr.communities(ATTRS.communities),
    attr.originatorId(ATTRS.originatorId),
    attr.clusterList(ATTRS.clusterList),
    attr.extCommunities([
      { type: 'encapsulation', tunnelType: ATTRS.tunnelType },
      { type: 'router-mac', mac: ATTRS.routerMac },
    ]),
    vxlanTunnelAttribute(ATTRS.vni, ATTRS.routerMac, ATTRS.vtep),
    attr.largeCommunities(ATTRS.large),
  ];
}

// ---------------------------------------------------------------- the rest

export const SHUTDOWN_TEXT = 'weft: maintenance window, back at 02:00 UTC — Ü ok';
export const ROUTE_REFRESHES = [
  { afi: Afi.IPV4, safi: Safi.UNICAST, subtype: 0 },
  { afi: Afi.IPV4, safi: Safi.UNICAST, subtype: 1 },
  { afi: Afi.IPV6, safi: Safi.UNICAST, subtype: 2 },
] as const;

export type Kind = 'open' | 'keepalive' | 'v4-withdraw' | 'v6-withdraw' | 'v4-announce' | 'v6-announce' | 'eor-v4' | 'eor-v6' | 'route-refresh' | 'notification';

export interface Sent {
  kind: Kind;
  bytes: Uint8Array;
}

/** Everything the test sends, in order. */
export function scenario(): Sent[] {
  const out: Sent[] = [];
  const msg = (kind: Kind, m: BgpMessage) => out.push({ kind, bytes: encodeMessage(m, WIRE) });
  msg('open', buildOpen({ asn: OPEN.asn, holdTime: OPEN.holdTime, bgpId: OPEN.bgpId, capabilities: OPEN_CAPS }));
  msg('keepalive', { type: 'keepalive' });
  const add = (kind: Kind, list: Uint8Array[]) => list.forEach((bytes) => out.push({ kind, bytes }));
  add('v4-withdraw', packUpdates({ withdraw: V4_WITHDRAW.map(p) }, WIRE));
  add('v6-withdraw', packUpdates({ withdraw: V6_WITHDRAW.map(p) }, WIRE));
  add('v4-announce', packUpdates({ attributes: attributes(true), announce: V4_ANNOUNCE.map(p) }, WIRE));
  add('v6-announce', packUpdates({ attributes: attributes(false), announce: V6_ANNOUNCE.map(p), ipv6NextHop: V6_NEXT_HOP }, WIRE));
  out.push({ kind: 'eor-v4', bytes: endOfRibBytes(Afi.IPV4, Safi.UNICAST, WIRE) });
  out.push({ kind: 'eor-v6', bytes: endOfRibBytes(Afi.IPV6, Safi.UNICAST, WIRE) });
  for (const rr of ROUTE_REFRESHES) msg('route-refresh', { type: 'route-refresh', ...rr });
  msg('keepalive', { type: 'keepalive' });
  msg('notification', buildShutdown(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, SHUTDOWN_TEXT));
  return out;
}

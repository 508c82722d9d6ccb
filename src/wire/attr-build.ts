/**
 * Builders for path attributes with the flags the attribute table gives them, so code outside
 * the codec never writes flag octets by hand: `attr.origin(Origin.IGP)`, `attr.asPath([64512])`,
 * `attr.nextHop('10.0.0.1')`, ...
 */
import { ATTRIBUTES, type AttrOf, type KnownAttrType } from './attributes.js';
import { sequenceSegments } from './attr-as-path.js';
import { AttrFlag } from './iana.js';
import { canonicalAddress, isIpv4, isIpv6 } from '../lib/address.js';
import { TunnelType } from './iana.js';
import type { AsPathSegment, ExtCommunity, MpReach, MpUnreach, PathAttribute, TunnelSubTlv, TunnelTlv } from './types.js';

function flagsOf(t: KnownAttrType): number {
  return ATTRIBUTES[t].flags;
}

/** A plain list of AS numbers becomes AS_SEQUENCE segments (255 AS each); segments pass as they are. */
function segmentsOf(path: readonly number[] | readonly AsPathSegment[]): AsPathSegment[] {
  if (path.length === 0) return [];
  return typeof path[0] === 'number' ? sequenceSegments(path as readonly number[]) : [...(path as readonly AsPathSegment[])];
}

export const attr = {
  origin: (origin: number): AttrOf<'origin'> => ({ type: 'origin', flags: flagsOf('origin'), origin }),
  asPath: (path: readonly number[] | readonly AsPathSegment[]): AttrOf<'as-path'> => ({
    type: 'as-path',
    flags: flagsOf('as-path'),
    segments: segmentsOf(path),
  }),
  nextHop: (nextHop: string): AttrOf<'next-hop'> => ({ type: 'next-hop', flags: flagsOf('next-hop'), nextHop }),
  med: (med: number): AttrOf<'med'> => ({ type: 'med', flags: flagsOf('med'), med }),
  localPref: (localPref: number): AttrOf<'local-pref'> => ({ type: 'local-pref', flags: flagsOf('local-pref'), localPref }),
  atomicAggregate: (): AttrOf<'atomic-aggregate'> => ({ type: 'atomic-aggregate', flags: flagsOf('atomic-aggregate') }),
  aggregator: (asn: number, address: string): AttrOf<'aggregator'> => ({ type: 'aggregator', flags: flagsOf('aggregator'), asn, address }),
  communities: (communities: readonly number[]): AttrOf<'communities'> => ({
    type: 'communities',
    flags: flagsOf('communities'),
    communities: [...communities],
  }),
  originatorId: (originatorId: string): AttrOf<'originator-id'> => ({ type: 'originator-id', flags: flagsOf('originator-id'), originatorId }),
  clusterList: (clusterIds: readonly string[]): AttrOf<'cluster-list'> => ({
    type: 'cluster-list',
    flags: flagsOf('cluster-list'),
    clusterIds: [...clusterIds],
  }),
  /** MP attributes get the Extended Length flag: their NLRI lists are often longer than 255 octets. */
  mpReach: (reach: MpReach): AttrOf<'mp-reach'> => ({ type: 'mp-reach', flags: flagsOf('mp-reach') | AttrFlag.EXTENDED_LENGTH, reach }),
  mpUnreach: (unreach: MpUnreach): AttrOf<'mp-unreach'> => ({
    type: 'mp-unreach',
    flags: flagsOf('mp-unreach') | AttrFlag.EXTENDED_LENGTH,
    unreach,
  }),
  extCommunities: (communities: readonly ExtCommunity[]): AttrOf<'ext-communities'> => ({
    type: 'ext-communities',
    flags: flagsOf('ext-communities'),
    communities: [...communities],
  }),
  as4Path: (path: readonly number[] | readonly AsPathSegment[]): AttrOf<'as4-path'> => ({
    type: 'as4-path',
    flags: flagsOf('as4-path'),
    segments: segmentsOf(path),
  }),
  as4Aggregator: (asn: number, address: string): AttrOf<'as4-aggregator'> => ({
    type: 'as4-aggregator',
    flags: flagsOf('as4-aggregator'),
    asn,
    address,
  }),
  largeCommunities: (communities: readonly (readonly [number, number, number])[]): AttrOf<'large-communities'> => ({
    type: 'large-communities',
    flags: flagsOf('large-communities'),
    communities: communities.map(([g, a, b]): [number, number, number] => [g, a, b]),
  }),
  /** RFC 9012 Tunnel Encapsulation (optional transitive). */
  tunnelEncap: (tunnels: readonly TunnelTlv[]): AttrOf<'tunnel-encap'> => ({
    type: 'tunnel-encap',
    flags: flagsOf('tunnel-encap'),
    tunnels: tunnels.map((t) => ({ tunnelType: t.tunnelType, subTlvs: [...t.subTlvs] })),
  }),
  /** An attribute weft does not know, optional transitive unless flags say otherwise. */
  unknown: (code: number, data: Uint8Array, flags: number = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE): PathAttribute => ({
    type: 'unknown',
    flags,
    code,
    data,
  }),
} as const;

/**
 * The RFC 9012 Tunnel Encapsulation attribute of one VXLAN tunnel (tunnel type 8): an
 * Encapsulation sub-TLV with the VNI (V bit) and, when given, the inner destination MAC (M bit;
 * RFC 9012 3.2.1), and the Tunnel Egress Endpoint (RFC 9012 3.1: exactly one per TLV; address
 * family 0, "the address of the next hop", when no egress address is given). Throws a plain
 * Error for a VNI outside 0..2^24-1, a MAC that is not "aa:bb:cc:dd:ee:ff" or an egress that is
 * not an IPv4 / IPv6 address (caller bugs).
 */
export function vxlanTunnelAttribute(vni: number, mac?: string, egress?: string): AttrOf<'tunnel-encap'> {
  if (!Number.isInteger(vni) || vni < 0 || vni > 0xffffff) throw new Error(`VNI ${vni} is out of range 0..16777215`);
  if (mac !== undefined && !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) throw new Error(`not a MAC address: ${JSON.stringify(mac)}`);
  if (egress !== undefined && !isIpv4(egress) && !isIpv6(egress)) throw new Error(`not an IP address: ${JSON.stringify(egress)}`);
  const subTlvs: TunnelSubTlv[] = [
    { type: 'egress-endpoint', address: egress === undefined ? undefined : canonicalAddress(egress) },
    { type: 'encapsulation', vni, mac: mac?.toLowerCase() },
  ];
  return attr.tunnelEncap([{ tunnelType: TunnelType.VXLAN, subTlvs }]);
}

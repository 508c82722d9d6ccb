/**
 * The peers of a fuzzed node: each kind the export rules treat differently (iBGP, route-reflector
 * client, eBGP, eBGP over a 2-octet-AS session), each at both message size limits (4096 and 65535
 * with RFC 8654), some with ADD-PATH, with the import policies the agent builds (mesh peers: pool
 * guards first; external peers: rules first) and one export policy.
 */
import type { ExportPeerConfig } from '../../src/rib/export.js';
import type { LocalInfo, PeerInfo } from '../../src/rib/peer.js';
import type { ImportPolicyConfig, PolicyRule } from '../../src/rib/policy.js';
import type { WireOptions } from '../../src/wire/types.js';

export interface FuzzPeer {
  readonly info: PeerInfo;
  /** Negotiated with the peer: how its messages are read and ours to it written. */
  readonly opts: WireOptions;
  /** RFC 8950 negotiated for IPv4 unicast (IPv6 next hops for IPv4 routes accepted). */
  readonly ipv4ExtendedNextHop: boolean;
  /** Import policy configurations the fuzzer switches between (the first one at start). */
  readonly imports: readonly ImportPolicyConfig[];
  readonly export: Omit<ExportPeerConfig, 'info'>;
}

export interface World {
  readonly name: string;
  readonly local: LocalInfo;
  readonly peers: readonly FuzzPeer[];
}

const POOLS = ['10.244.0.0/16', 'fd00:244::/48'];
const UNDERLAY = '10.0.1.0/24';
const opts = (fourOctetAs: boolean, extendedMessage: boolean, addPath: string[] = []): WireOptions => ({ fourOctetAs, extendedMessage, addPath: new Set(addPath) });

const MESH: ImportPolicyConfig[] = [
  { kind: 'mesh', pools: POOLS, underlay: UNDERLAY },
  { kind: 'mesh', pools: ['10.244.0.0/17', 'fd00:244::/48'], underlay: UNDERLAY }, // narrower
  { kind: 'mesh', pools: [...POOLS, '192.168.0.0/16'], underlay: UNDERLAY, rules: [{ action: 'accept', setLocalPref: 90 }] }, // wider
];

const RULES: PolicyRule[] = [
  { name: 'lab', prefixList: [{ action: 'permit', prefix: '192.168.0.0/16', le: 24 }], action: 'accept', setLocalPref: 80, addCommunities: [64512 * 65536 + 80] },
  { name: 'blackholed', community: { any: [65535 * 65536 + 666] }, action: 'reject' },
];
const EXTERNAL: ImportPolicyConfig[] = [
  { kind: 'external', pools: POOLS, underlay: UNDERLAY, rules: RULES, maxPrefix: 600 },
  { kind: 'external', pools: POOLS, underlay: UNDERLAY, rules: RULES.slice(1), maxPrefix: 600 }, // narrower
  { kind: 'external', pools: [...POOLS, '10.0.0.0/8'], rules: RULES, maxPrefix: 600 }, // wider
];

const SELF = { ipv4: '10.0.1.9', ipv6: 'fd00::9' };

function peer(
  i: number,
  id: string,
  type: 'ibgp' | 'ebgp',
  asn: number,
  o: WireOptions,
  extra: { isRrClient?: boolean; localAsn: number; ipv4ExtendedNextHop?: boolean; export?: Omit<ExportPeerConfig, 'info'> },
): FuzzPeer {
  return {
    info: { id, address: `10.0.1.${20 + i}`, asn, routerId: `10.0.3.${20 + i}`, type, isRrClient: extra.isRrClient ?? false, localAsn: extra.localAsn },
    opts: o,
    ipv4ExtendedNextHop: extra.ipv4ExtendedNextHop ?? false,
    imports: type === 'ibgp' ? MESH : EXTERNAL,
    export: extra.export ?? { nextHopSelf: SELF },
  };
}

function peers(localAsn: number, clients: boolean): FuzzPeer[] {
  const l = { localAsn };
  return [
    peer(0, 'i1', 'ibgp', localAsn, opts(true, false), l),
    peer(1, 'i2', 'ibgp', localAsn, opts(true, true, ['1/1', '2/1']), { ...l, export: { nextHopSelf: SELF, forceNextHopSelf: true } }),
    peer(2, 'c1', 'ibgp', localAsn, opts(true, false), { ...l, isRrClient: clients }),
    peer(3, 'c2', 'ibgp', localAsn, opts(true, true, ['2/1']), { ...l, isRrClient: clients, ipv4ExtendedNextHop: true }),
    peer(4, 'e1', 'ebgp', 65001, opts(true, false), l),
    peer(5, 'e2', 'ebgp', 65002, opts(true, true), { ...l, ipv4ExtendedNextHop: true }),
    // 2-octet-AS speakers (RFC 6793 4.2.2): AS_TRANS and AS4_PATH; t1 has no IPv6 next hop self.
    peer(6, 't1', 'ebgp', 65003, opts(false, false), { ...l, export: { nextHopSelf: { ipv4: SELF.ipv4 } } }),
    peer(7, 't2', 'ebgp', 65004, opts(false, true, ['1/1']), l),
  ];
}

/** A route reflector in a 2-octet AS, and a plain mesh node in a 4-octet AS (AS_TRANS towards 2-octet peers). */
export const WORLDS: readonly World[] = [
  { name: 'reflector AS64512', local: { asn: 64512, routerId: '10.0.1.9', clusterId: '10.0.1.9' }, peers: peers(64512, true) },
  { name: 'mesh AS4200000001', local: { asn: 4_200_000_001, routerId: '10.0.1.9' }, peers: peers(4_200_000_001, false) },
];

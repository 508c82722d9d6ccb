/**
 * The decoded forms of BGP messages: discriminated unions on `type`, plain data, no methods.
 * Addresses are text (dotted quad / RFC 5952); prefixes use the compact forms of src/lib/prefix.ts.
 * Every field needed to re-encode a message byte for byte is kept (attribute flags and order,
 * optional parameter grouping, unknown capabilities and attributes as bytes).
 */
import type { Prefix, V4Prefix } from '../lib/prefix.js';

/** What the two speakers negotiated; changes how UPDATEs are read and written. */
export interface WireOptions {
  /** RFC 6793: AS numbers in AS_PATH/AGGREGATOR are 4 octets. */
  fourOctetAs: boolean;
  /** RFC 8654: messages up to 65535 octets. */
  extendedMessage: boolean;
  /**
   * RFC 7911: families whose NLRI carry a 4-octet path identifier, as "afi/safi" keys ("1/1").
   * For decoding: the families we receive path ids in; for encoding: those we send them in.
   */
  addPath: ReadonlySet<string>;
}

export const DEFAULT_WIRE_OPTIONS: WireOptions = {
  fourOctetAs: true,
  extendedMessage: false,
  addPath: new Set(),
};

export function familyKey(afi: number, safi: number): string {
  return `${afi}/${safi}`;
}

// ---------------------------------------------------------------- OPEN (RFC 4271 4.2)

export interface AfiSafi {
  afi: number;
  safi: number;
}

export type Capability =
  | { type: 'multiprotocol'; afi: number; safi: number } // RFC 4760 8 (reserved octet kept as 0)
  | { type: 'route-refresh' } // RFC 2918
  | { type: 'route-refresh-old' } // code 128, pre-standard
  | { type: 'enhanced-route-refresh' } // RFC 7313
  | { type: 'four-octet-as'; asn: number } // RFC 6793
  | {
      type: 'graceful-restart'; // RFC 4724 3
      /** The 4 flag bits (R = 0x8, N = 0x4 per RFC 8538). */
      flags: number;
      /** Restart time in seconds (12 bits). */
      time: number;
      /** Per family: the forwarding-state-preserved flag octet (F = 0x80). */
      families: { afi: number; safi: number; flags: number }[];
    }
  | { type: 'extended-next-hop'; entries: { afi: number; safi: number; nextHopAfi: number }[] } // RFC 8950 3
  | { type: 'extended-message' } // RFC 8654
  | { type: 'add-path'; families: { afi: number; safi: number; sendReceive: number }[] } // RFC 7911 4: 1 receive, 2 send, 3 both
  | { type: 'fqdn'; hostname: string; domain: string } // draft-walton-bgp-hostname-capability
  | { type: 'unknown'; code: number; data: Uint8Array };

export type OptionalParameter =
  | { type: 'capabilities'; capabilities: Capability[] } // RFC 5492: one parameter may hold several
  | { type: 'unknown'; code: number; data: Uint8Array };

export interface OpenMessage {
  type: 'open';
  version: number;
  /** The 2-octet My Autonomous System field (AS_TRANS when the real AS needs 4 octets). */
  myAs: number;
  holdTime: number;
  /** BGP Identifier as a dotted quad. */
  bgpId: string;
  params: OptionalParameter[];
  /** RFC 9072: the parameters were written with the extended length format. */
  extendedParams?: boolean;
}

// ---------------------------------------------------------------- UPDATE (RFC 4271 4.3)

export type AsPathSegmentKind = 'set' | 'sequence' | 'confed-sequence' | 'confed-set';
export interface AsPathSegment {
  kind: AsPathSegmentKind;
  asns: number[];
}

export type ExtCommunity =
  | { type: 'encapsulation'; tunnelType: number } // RFC 9012 4.1 (transitive opaque 0x03/0x0c)
  | { type: 'router-mac'; mac: string } // RFC 9135 8.1 (EVPN 0x06/0x03), "aa:bb:cc:dd:ee:ff"
  | { type: 'route-target'; global: string | number; local: number } // RFC 4360 4/5: AS (2 or 4 octet) or IPv4 global
  | { type: 'route-origin'; global: string | number; local: number }
  /** Any other extended community, as its 8 octets in hex. */
  | { type: 'raw'; hex: string };

/**
 * A sub-TLV of a Tunnel TLV (RFC 9012 3). Known sub-TLVs are read into fields; `raw` holds the
 * received value when it is not the canonical encoding of those fields (reserved bits or fields
 * that RFC 9012 says to disregard on receipt but propagate unchanged), and is what gets written
 * back. A sub-TLV weft does not know, or a known one that is malformed (RFC 9012 13: "treated as
 * if it were an unrecognized sub-TLV"), is kept as { type: 'unknown', code, data }.
 */
export type TunnelSubTlv =
  /** RFC 9012 3.2.1 / 3.2.2 Encapsulation sub-TLV of VXLAN (8) and NVGRE (9): V bit -> vni, M bit -> mac. */
  | { type: 'encapsulation'; vni?: number; mac?: string; raw?: Uint8Array }
  /** RFC 9012 3.4.1 Protocol Type: the Ethertype of the payload. */
  | { type: 'protocol-type'; etherType: number }
  /** RFC 9012 3.4.2 Color: the Color Extended Community's color value. */
  | { type: 'color'; color: number; raw?: Uint8Array }
  /** RFC 9012 3.1 Tunnel Egress Endpoint: undefined address = Address Family 0 (the next hop). */
  | { type: 'egress-endpoint'; address?: string; raw?: Uint8Array }
  /** RFC 9012 3.3.1 DS Field. */
  | { type: 'ds-field'; ds: number }
  /** RFC 9012 3.3.2 UDP Destination Port. */
  | { type: 'udp-port'; port: number }
  /** RFC 9012 3.5 Embedded Label Handling: 1 payload of MPLS with embedded label, 2 no embedded label. */
  | { type: 'embedded-label-handling'; handling: number }
  | { type: 'unknown'; code: number; data: Uint8Array };

/** One Tunnel TLV of the Tunnel Encapsulation attribute (RFC 9012 2), sub-TLVs in wire order. */
export interface TunnelTlv {
  tunnelType: number;
  subTlvs: TunnelSubTlv[];
}

/**
 * MP_REACH_NLRI (RFC 4760 3). nextHop holds one address, or two for IPv6 (global, then
 * link-local, RFC 2545 3). For families other than IPv4/IPv6 unicast/multicast the NLRI are kept
 * as bytes in `raw`.
 */
export interface MpReach {
  afi: number;
  safi: number;
  nextHop: string[];
  /** Set when the next hop field could not be read as addresses (kept for re-encoding). */
  nextHopRaw?: Uint8Array;
  /** RFC 4760 3: the Reserved octet (should be 0; kept as received). */
  reserved?: number;
  nlri: Prefix[];
  pathIds?: number[];
  raw?: Uint8Array;
}

export interface MpUnreach {
  afi: number;
  safi: number;
  withdrawn: Prefix[];
  pathIds?: number[];
  raw?: Uint8Array;
}

/** Path attributes (RFC 4271 4.3, 5). `flags` is the flags octet as received or to be sent. */
export type PathAttribute =
  | { type: 'origin'; flags: number; origin: number }
  | { type: 'as-path'; flags: number; segments: AsPathSegment[] }
  | { type: 'next-hop'; flags: number; nextHop: string }
  | { type: 'med'; flags: number; med: number }
  | { type: 'local-pref'; flags: number; localPref: number }
  | { type: 'atomic-aggregate'; flags: number }
  | { type: 'aggregator'; flags: number; asn: number; address: string }
  | { type: 'communities'; flags: number; communities: number[] }
  | { type: 'originator-id'; flags: number; originatorId: string }
  | { type: 'cluster-list'; flags: number; clusterIds: string[] }
  | { type: 'mp-reach'; flags: number; reach: MpReach }
  | { type: 'mp-unreach'; flags: number; unreach: MpUnreach }
  | { type: 'ext-communities'; flags: number; communities: ExtCommunity[] }
  | { type: 'as4-path'; flags: number; segments: AsPathSegment[] }
  | { type: 'as4-aggregator'; flags: number; asn: number; address: string }
  | { type: 'large-communities'; flags: number; communities: [number, number, number][] }
  /**
   * RFC 9012 2: Tunnel Encapsulation. `removed` lists the TLVs RFC 9012 13 says to ignore and
   * remove before the route is passed on (a malformed Tunnel Egress Endpoint, or not exactly
   * one); they are never encoded.
   */
  | { type: 'tunnel-encap'; flags: number; tunnels: TunnelTlv[]; removed?: { tunnelType: number; data: Uint8Array; why: string }[] }
  | { type: 'unknown'; flags: number; code: number; data: Uint8Array };

/** The attribute of one type (the row types of attributes.ts). */
export type AttrOf<T extends PathAttributeType> = Extract<PathAttribute, { type: T }>;

export type PathAttributeType = PathAttribute['type'];

export interface UpdateMessage {
  type: 'update';
  /** IPv4 unicast withdrawals in the Withdrawn Routes field. */
  withdrawn: V4Prefix[];
  withdrawnPathIds?: number[];
  /** In wire order. */
  attributes: PathAttribute[];
  /** IPv4 unicast NLRI at the end of the message. */
  nlri: V4Prefix[];
  nlriPathIds?: number[];
  /**
   * RFC 7606 problems found while decoding that did not reset the session: attributes discarded,
   * or the whole UPDATE to be treated as a withdrawal. Absent when there were none.
   */
  problems?: import('./errors.js').WireError[];
}

// ---------------------------------------------------------------- the rest

export interface NotificationMessage {
  type: 'notification';
  code: number;
  subcode: number;
  data: Uint8Array;
  /** RFC 9003: the shutdown communication of Cease/2 and Cease/4, when present and valid UTF-8. */
  shutdownMessage?: string;
}

export interface KeepaliveMessage {
  type: 'keepalive';
}

export interface RouteRefreshMessage {
  type: 'route-refresh';
  afi: number;
  safi: number;
  /** RFC 7313 3: 0 normal request, 1 BoRR, 2 EoRR. */
  subtype: number;
}

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

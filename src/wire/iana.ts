/**
 * BGP code points. Each table cites its IANA registry ("Border Gateway Protocol (BGP) Parameters",
 * "Capability Codes", "Address Family Numbers", "SAFI Values") or the RFC section that defines it.
 */

/** RFC 4271 4.1: message types; 5 = ROUTE-REFRESH (RFC 2918 3). */
export const MessageType = {
  OPEN: 1,
  UPDATE: 2,
  NOTIFICATION: 3,
  KEEPALIVE: 4,
  ROUTE_REFRESH: 5,
} as const;

/** RFC 4271 4.1 header: 16-octet marker, 2-octet length, 1-octet type. */
export const HEADER_LENGTH = 19;
/** RFC 4271 4.1: the largest message; RFC 8654: 65535 once extended messages are negotiated. */
export const MAX_MESSAGE_LENGTH = 4096;
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535;

/** IANA Address Family Numbers. */
export const Afi = { IPV4: 1, IPV6: 2, L2VPN: 25 } as const;
/** IANA SAFI Values. */
export const Safi = { UNICAST: 1, MULTICAST: 2, MPLS_LABEL: 4, EVPN: 70, MPLS_VPN: 128, FLOWSPEC: 133 } as const;

/** RFC 4271 4.2 / RFC 5492 4: optional parameter types; 255 = RFC 9072 extended length marker. */
export const OptParamType = { CAPABILITIES: 2, EXTENDED_LENGTH: 255 } as const;

/** IANA Capability Codes. */
export const CapabilityCode = {
  MULTIPROTOCOL: 1, // RFC 4760
  ROUTE_REFRESH: 2, // RFC 2918
  EXTENDED_NEXT_HOP: 5, // RFC 8950
  EXTENDED_MESSAGE: 6, // RFC 8654
  ROLE: 9, // RFC 9234
  GRACEFUL_RESTART: 64, // RFC 4724
  FOUR_OCTET_AS: 65, // RFC 6793
  ADD_PATH: 69, // RFC 7911
  ENHANCED_ROUTE_REFRESH: 70, // RFC 7313
  LONG_LIVED_GRACEFUL_RESTART: 71, // RFC 9494
  FQDN: 73, // draft-walton-bgp-hostname-capability
  SOFTWARE_VERSION: 75, // draft-abraitis-bgp-version-capability
  ROUTE_REFRESH_OLD: 128, // pre-RFC Cisco code, still sent by some speakers
} as const;

/** RFC 6793 9: the 2-octet AS placed where a 4-octet AS does not fit. */
export const AS_TRANS = 23456;

/** IANA BGP Path Attributes. */
export const AttrType = {
  ORIGIN: 1, // RFC 4271 5.1.1
  AS_PATH: 2, // RFC 4271 5.1.2
  NEXT_HOP: 3, // RFC 4271 5.1.3
  MULTI_EXIT_DISC: 4, // RFC 4271 5.1.4
  LOCAL_PREF: 5, // RFC 4271 5.1.5
  ATOMIC_AGGREGATE: 6, // RFC 4271 5.1.6
  AGGREGATOR: 7, // RFC 4271 5.1.7
  COMMUNITIES: 8, // RFC 1997
  ORIGINATOR_ID: 9, // RFC 4456 8
  CLUSTER_LIST: 10, // RFC 4456 8
  MP_REACH_NLRI: 14, // RFC 4760 3
  MP_UNREACH_NLRI: 15, // RFC 4760 4
  EXTENDED_COMMUNITIES: 16, // RFC 4360
  AS4_PATH: 17, // RFC 6793
  AS4_AGGREGATOR: 18, // RFC 6793
  TUNNEL_ENCAPSULATION: 23, // RFC 9012 2
  LARGE_COMMUNITY: 32, // RFC 8092
} as const;

/** RFC 4271 4.3: attribute flag bits. */
export const AttrFlag = {
  OPTIONAL: 0x80,
  TRANSITIVE: 0x40,
  PARTIAL: 0x20,
  EXTENDED_LENGTH: 0x10,
} as const;

/** RFC 4271 5.1.1 ORIGIN values. */
export const Origin = { IGP: 0, EGP: 1, INCOMPLETE: 2 } as const;

/** RFC 4271 4.3 AS_PATH segment types; RFC 5065 confederation segments. */
export const AsPathSegmentType = { AS_SET: 1, AS_SEQUENCE: 2, AS_CONFED_SEQUENCE: 3, AS_CONFED_SET: 4 } as const;

/** IANA BGP Error (Notification) Codes. */
export const ErrorCode = {
  MESSAGE_HEADER: 1,
  OPEN_MESSAGE: 2,
  UPDATE_MESSAGE: 3,
  HOLD_TIMER_EXPIRED: 4,
  FSM: 5, // RFC 6608
  CEASE: 6, // RFC 4486
  ROUTE_REFRESH: 7, // RFC 7313
  SEND_HOLD_TIMER_EXPIRED: 8, // RFC 9687
} as const;

/** RFC 4271 6.1. */
export const HeaderSubcode = { CONNECTION_NOT_SYNCHRONIZED: 1, BAD_MESSAGE_LENGTH: 2, BAD_MESSAGE_TYPE: 3 } as const;

/** RFC 4271 6.2, RFC 5492 (7), RFC 9234 (11). Subcode 5 is deprecated. */
export const OpenSubcode = {
  UNSUPPORTED_VERSION: 1,
  BAD_PEER_AS: 2,
  BAD_BGP_IDENTIFIER: 3,
  UNSUPPORTED_OPTIONAL_PARAMETER: 4,
  UNACCEPTABLE_HOLD_TIME: 6,
  UNSUPPORTED_CAPABILITY: 7,
  ROLE_MISMATCH: 11,
} as const;

/** RFC 4271 6.3. Subcode 7 (AS routing loop) is deprecated. */
export const UpdateSubcode = {
  MALFORMED_ATTRIBUTE_LIST: 1,
  UNRECOGNIZED_WELLKNOWN_ATTRIBUTE: 2,
  MISSING_WELLKNOWN_ATTRIBUTE: 3,
  ATTRIBUTE_FLAGS_ERROR: 4,
  ATTRIBUTE_LENGTH_ERROR: 5,
  INVALID_ORIGIN_ATTRIBUTE: 6,
  INVALID_NEXT_HOP_ATTRIBUTE: 8,
  OPTIONAL_ATTRIBUTE_ERROR: 9,
  INVALID_NETWORK_FIELD: 10,
  MALFORMED_AS_PATH: 11,
} as const;

/** RFC 6608: errors in the finite state machine. */
export const FsmSubcode = {
  UNSPECIFIED: 0,
  UNEXPECTED_IN_OPENSENT: 1,
  UNEXPECTED_IN_OPENCONFIRM: 2,
  UNEXPECTED_IN_ESTABLISHED: 3,
} as const;

/** RFC 4486 3, RFC 8538 (9 hard reset), RFC 9384 (10 BFD down). */
export const CeaseSubcode = {
  MAX_PREFIXES: 1,
  ADMINISTRATIVE_SHUTDOWN: 2,
  PEER_DECONFIGURED: 3,
  ADMINISTRATIVE_RESET: 4,
  CONNECTION_REJECTED: 5,
  OTHER_CONFIGURATION_CHANGE: 6,
  CONNECTION_COLLISION_RESOLUTION: 7,
  OUT_OF_RESOURCES: 8,
  HARD_RESET: 9,
  BFD_DOWN: 10,
} as const;

/** RFC 7313 5. */
export const RouteRefreshSubcode = { INVALID_MESSAGE_LENGTH: 1 } as const;

/** RFC 7313 3: ROUTE-REFRESH message subtypes (the former reserved octet). */
export const RouteRefreshSubtype = { NORMAL: 0, BORR: 1, EORR: 2 } as const;

/** RFC 4360 / RFC 9012 / RFC 9135 extended community types used by weft. */
export const ExtCommunityType = {
  /** RFC 9012 4.1: Encapsulation extended community: type 0x03 (transitive opaque), subtype 0x0c. */
  OPAQUE: 0x03,
  OPAQUE_ENCAPSULATION: 0x0c,
  /** RFC 9135 8.1: EVPN Router's MAC extended community: type 0x06, subtype 0x03. */
  EVPN: 0x06,
  EVPN_ROUTERS_MAC: 0x03,
  /** RFC 4360 4: two-octet AS specific, route target (0x00/0x02) and route origin (0x00/0x03). */
  TWO_OCTET_AS: 0x00,
  IPV4_ADDRESS: 0x01,
  FOUR_OCTET_AS: 0x02,
  ROUTE_TARGET: 0x02,
  ROUTE_ORIGIN: 0x03,
} as const;

/** IANA BGP Tunnel Encapsulation Attribute Tunnel Types (RFC 9012). */
export const TunnelType = { L2TPV3: 1, GRE: 2, IP_IN_IP: 7, VXLAN: 8, NVGRE: 9, MPLS: 10, VXLAN_GPE: 12, GENEVE: 19 } as const;

/** IANA BGP Tunnel Encapsulation Attribute Sub-TLVs (RFC 9012 3): types 0-127 have a 1-octet length, 128-255 two. */
export const TunnelSubTlvType = {
  ENCAPSULATION: 1, // RFC 9012 3.2
  PROTOCOL_TYPE: 2, // RFC 9012 3.4.1
  COLOR: 4, // RFC 9012 3.4.2
  EGRESS_ENDPOINT: 6, // RFC 9012 3.1
  DS_FIELD: 7, // RFC 9012 3.3.1
  UDP_DESTINATION_PORT: 8, // RFC 9012 3.3.2
  EMBEDDED_LABEL_HANDLING: 9, // RFC 9012 3.5
} as const;

/** RFC 1997 well-known communities. */
export const WellKnownCommunity = {
  NO_EXPORT: 0xffffff01,
  NO_ADVERTISE: 0xffffff02,
  NO_EXPORT_SUBCONFED: 0xffffff03,
  GRACEFUL_SHUTDOWN: 0xffff0000, // RFC 8326
  BLACKHOLE: 0xffff029a, // RFC 7999
} as const;

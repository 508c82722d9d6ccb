/**
 * The BFD Control packet (RFC 5880 4.1), carried in UDP to port 3784 (RFC 5881 4). A pure codec:
 * decoding never throws, it returns the packet or the reason it must be discarded (the checks of
 * RFC 5880 6.8.6 that need nothing but the packet itself).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       My Discriminator                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      Your Discriminator                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Desired Min TX Interval                    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                   Required Min RX Interval                    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Required Min Echo RX Interval                 |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * An optional Authentication Section follows when the A bit is set:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Auth Type   |   Auth Len    |    Authentication Data...     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Intervals are in microseconds, as on the wire.
 */

/** RFC 5881 4: the destination port of single-hop Control packets; RFC 5883 5: multihop. */
export const BFD_CONTROL_PORT = 3784;
export const BFD_MULTIHOP_PORT = 4784;
/** RFC 5881 4: the source port range. */
export const BFD_SOURCE_PORT_MIN = 49152;
export const BFD_SOURCE_PORT_MAX = 65535;
export const BFD_VERSION = 1;
/** RFC 5880 4.1: the mandatory section; 26 is the least with an Authentication Section (6.8.6). */
export const BFD_HEADER_LENGTH = 24;
const BFD_AUTH_MIN_LENGTH = 26;

/** RFC 5880 4.1 "State (Sta)". */
export const BfdState = { AdminDown: 0, Down: 1, Init: 2, Up: 3 } as const;
export type BfdStateName = keyof typeof BfdState;
export const BFD_STATE_NAMES = ['AdminDown', 'Down', 'Init', 'Up'] as const satisfies readonly BfdStateName[];

/** RFC 5880 4.1 "Diagnostic (Diag)" (IANA BFD Diagnostic Codes). */
export const BfdDiag = {
  NONE: 0,
  CONTROL_DETECTION_TIME_EXPIRED: 1,
  ECHO_FAILED: 2,
  NEIGHBOR_SIGNALED_DOWN: 3,
  FORWARDING_PLANE_RESET: 4,
  PATH_DOWN: 5,
  CONCATENATED_PATH_DOWN: 6,
  ADMINISTRATIVELY_DOWN: 7,
  REVERSE_CONCATENATED_PATH_DOWN: 8,
} as const;

const DIAG_TEXT: readonly string[] = [
  'No Diagnostic',
  'Control Detection Time Expired',
  'Echo Function Failed',
  'Neighbor Signaled Session Down',
  'Forwarding Plane Reset',
  'Path Down',
  'Concatenated Path Down',
  'Administratively Down',
  'Reverse Concatenated Path Down',
];

export function describeDiag(diag: number): string {
  return DIAG_TEXT[diag] ?? `diagnostic ${diag}`;
}

export interface BfdAuth {
  authType: number;
  /** The whole section after Auth Type and Auth Len. */
  data: Uint8Array;
}

export interface BfdControlPacket {
  diag: number;
  state: BfdStateName;
  poll: boolean;
  final: boolean;
  /** C: Control Plane Independent. */
  cpi: boolean;
  /** D: Demand mode. */
  demand: boolean;
  /** M: Multipoint, reserved, must be zero. */
  multipoint: boolean;
  detectMult: number;
  myDiscriminator: number;
  yourDiscriminator: number;
  desiredMinTxUs: number;
  requiredMinRxUs: number;
  requiredMinEchoRxUs: number;
  auth?: BfdAuth;
}

/** Why a received datagram is discarded before any session sees it (RFC 5880 6.8.6, first checks). */
export const BFD_DECODE_REASONS = ['short', 'version', 'length', 'detect-mult-zero', 'multipoint', 'my-discriminator-zero'] as const;
export type BfdDecodeReason = (typeof BFD_DECODE_REASONS)[number];

export type BfdDecodeResult = { ok: true; packet: BfdControlPacket } | { ok: false; reason: BfdDecodeReason; message: string };

const u32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

function fail(reason: BfdDecodeReason, message: string): BfdDecodeResult {
  return { ok: false, reason, message };
}

/** Decodes one UDP payload. Never throws. */
export function decodeBfdControl(buf: Uint8Array): BfdDecodeResult {
  if (buf.length < BFD_HEADER_LENGTH) return fail('short', `${buf.length} octets, less than the ${BFD_HEADER_LENGTH} of a Control packet`);
  const version = buf[0]! >> 5;
  // RFC 5880 6.8.6: "If the version number is not correct (1), the packet MUST be discarded."
  if (version !== BFD_VERSION) return fail('version', `version ${version}, not ${BFD_VERSION}`);
  const flags = buf[1]!;
  const auth = (flags & 0x04) !== 0;
  const length = buf[3]!;
  // "If the Length field is less than the minimum correct value (24 if the A bit is clear, or 26
  // if the A bit is set), the packet MUST be discarded." / "If the Length field is greater than
  // the payload of the encapsulating protocol, the packet MUST be discarded."
  const least = auth ? BFD_AUTH_MIN_LENGTH : BFD_HEADER_LENGTH;
  if (length < least) return fail('length', `Length field ${length} is less than ${least}${auth ? ' (A bit set)' : ''}`);
  if (length > buf.length) return fail('length', `Length field ${length} is more than the ${buf.length} octets received`);
  const detectMult = buf[2]!;
  // "If the Detect Mult field is zero, the packet MUST be discarded."
  if (detectMult === 0) return fail('detect-mult-zero', 'Detect Mult is zero');
  // "If the Multipoint (M) bit is nonzero, the packet MUST be discarded."
  const multipoint = (flags & 0x01) !== 0;
  if (multipoint) return fail('multipoint', 'the Multipoint bit is set');
  const myDiscriminator = u32(buf, 4);
  // "If the My Discriminator field is zero, the packet MUST be discarded."
  if (myDiscriminator === 0) return fail('my-discriminator-zero', 'My Discriminator is zero');
  const packet: BfdControlPacket = {
    diag: buf[0]! & 0x1f,
    state: BFD_STATE_NAMES[flags >> 6]!,
    poll: (flags & 0x20) !== 0,
    final: (flags & 0x10) !== 0,
    cpi: (flags & 0x08) !== 0,
    demand: (flags & 0x02) !== 0,
    multipoint,
    detectMult,
    myDiscriminator,
    yourDiscriminator: u32(buf, 8),
    desiredMinTxUs: u32(buf, 12),
    requiredMinRxUs: u32(buf, 16),
    requiredMinEchoRxUs: u32(buf, 20),
  };
  if (auth) {
    const authLen = buf[BFD_HEADER_LENGTH + 1]!;
    if (authLen < 2 || BFD_HEADER_LENGTH + authLen > length) {
      return fail('length', `Auth Len ${authLen} does not fit the Length field ${length}`);
    }
    packet.auth = { authType: buf[BFD_HEADER_LENGTH]!, data: buf.slice(BFD_HEADER_LENGTH + 2, BFD_HEADER_LENGTH + authLen) };
  }
  return { ok: true, packet };
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** Encodes a Control packet (with its Authentication Section when `auth` is set). */
export function encodeBfdControl(p: BfdControlPacket): Uint8Array {
  const authLen = p.auth ? p.auth.data.length + 2 : 0;
  const length = BFD_HEADER_LENGTH + authLen;
  if (length > 255) throw new RangeError(`BFD Control packet of ${length} octets does not fit the Length field`);
  const b = new Uint8Array(length);
  b[0] = (BFD_VERSION << 5) | (p.diag & 0x1f);
  b[1] =
    (BfdState[p.state] << 6) |
    (p.poll ? 0x20 : 0) |
    (p.final ? 0x10 : 0) |
    (p.cpi ? 0x08 : 0) |
    (p.auth ? 0x04 : 0) |
    (p.demand ? 0x02 : 0) |
    (p.multipoint ? 0x01 : 0);
  b[2] = p.detectMult & 0xff;
  b[3] = length;
  put32(b, 4, p.myDiscriminator);
  put32(b, 8, p.yourDiscriminator);
  put32(b, 12, p.desiredMinTxUs);
  put32(b, 16, p.requiredMinRxUs);
  put32(b, 20, p.requiredMinEchoRxUs);
  if (p.auth) {
    b[24] = p.auth.authType;
    b[25] = authLen;
    b.set(p.auth.data, 26);
  }
  return b;
}

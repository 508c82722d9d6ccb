/**
 * Whole BGP messages: check the RFC 4271 4.1 header, dispatch on the type octet, and a JSON view.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     Marker (16 octets of 0xff)                |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Length               |      Type     |   body ...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { assertNever } from '../lib/assert-never.js';
import { toHex } from '../lib/hex.js';
import { formatPrefix } from '../lib/prefix.js';
import { WireError } from './errors.js';
import { tunnelTypeName } from './attr-tunnel-encap.js';
import { frameAt } from './framer.js';
import { MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH, MessageType } from './iana.js';
import { decodeKeepalive, encodeKeepalive } from './keepalive.js';
import { describeNotification, decodeNotification, encodeNotification } from './notification.js';
import { decodeOpen, encodeOpen } from './open.js';
import { decodeRouteRefresh, encodeRouteRefresh } from './route-refresh.js';
import { DEFAULT_WIRE_OPTIONS, type BgpMessage, type PathAttribute, type WireOptions } from './types.js';
import { decodeUpdate, encodeUpdate } from './update.js';

/** RFC 8654 3: the largest message of this type once extended messages are (or are not) negotiated. */
function maxLengthFor(type: number, opts: WireOptions): number {
  // RFC 8654 3: OPEN and KEEPALIVE are never extended; every other message may be.
  if (!opts.extendedMessage || type === MessageType.OPEN || type === MessageType.KEEPALIVE) return MAX_MESSAGE_LENGTH;
  return MAX_EXTENDED_MESSAGE_LENGTH;
}

/**
 * Decodes one whole message (header included), as the Framer yields it or as read from a file.
 * The header is checked again here (marker, length = the bytes given, known type), so this is
 * safe on arbitrary input: it throws nothing but WireError.
 */
export function decodeMessage(msg: Uint8Array, opts: WireOptions = DEFAULT_WIRE_OPTIONS): BgpMessage {
  const type = msg.length > 18 ? msg[18] : MessageType.UPDATE;
  const f = frameAt(msg, 0, msg.length, maxLengthFor(type, opts));
  if (f.kind === 'error') throw f.error;
  if (f.kind === 'need-more' || f.length !== msg.length) {
    const declared = msg.length >= 18 ? (msg[16] << 8) | msg[17] : undefined;
    throw new WireError(
      'header.bad-length',
      declared === undefined
        ? `${msg.length} octet(s) are too few for a BGP header`
        : `the header says ${declared} octets but the message has ${msg.length}`,
      { data: msg.length >= 18 ? new Uint8Array(msg.subarray(16, 18)) : new Uint8Array(0), offset: 16 },
    );
  }
  switch (f.type) {
    case MessageType.OPEN:
      return decodeOpen(msg);
    case MessageType.UPDATE:
      return decodeUpdate(msg, opts);
    case MessageType.NOTIFICATION:
      return decodeNotification(msg);
    case MessageType.KEEPALIVE:
      return decodeKeepalive(msg);
    case MessageType.ROUTE_REFRESH:
      return decodeRouteRefresh(msg);
    default:
      // frameAt already refuses unknown types; kept so a new type there cannot slip through here.
      throw new WireError('header.bad-type', `unknown message type ${f.type}`, { data: Uint8Array.of(f.type), offset: 18 });
  }
}

/** Encodes a whole message, header included. */
export function encodeMessage(m: BgpMessage, opts: WireOptions = DEFAULT_WIRE_OPTIONS): Uint8Array {
  switch (m.type) {
    case 'open':
      return encodeOpen(m);
    case 'update':
      return encodeUpdate(m, opts);
    case 'notification':
      return encodeNotification(m, maxLengthFor(MessageType.NOTIFICATION, opts));
    case 'keepalive':
      return encodeKeepalive();
    case 'route-refresh':
      return encodeRouteRefresh(m);
    default:
      return assertNever(m, 'BGP message');
  }
}

// ---------------------------------------------------------------- JSON view

/** Bytes -> hex, WireError -> {code, severity, message}, undefined fields dropped. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof WireError) return { code: v.code, severity: v.severity, message: v.message };
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = plain(x);
    return out;
  }
  return v;
}

/** Prefixes (IPv4 numbers, IPv6 text) -> "a.b.c.d/len" / "x::/len" inside MP attributes. */
function attributeView(a: PathAttribute): unknown {
  // RFC 1997 / RFC 8092 text forms, as routers print them: "64512:100", "4200000001:1:2".
  if (a.type === 'communities') return { ...a, communities: a.communities.map((c) => `${Math.floor(c / 65536)}:${c % 65536}`) };
  if (a.type === 'large-communities') return { ...a, communities: a.communities.map((c) => c.join(':')) };
  if (a.type === 'mp-reach') return { ...a, reach: { ...a.reach, nlri: a.reach.nlri.map(formatPrefix) } };
  // RFC 9012: each Tunnel TLV with its IANA tunnel type name next to the number.
  if (a.type === 'tunnel-encap') return { ...a, tunnels: a.tunnels.map((t) => ({ tunnelType: t.tunnelType, name: tunnelTypeName(t.tunnelType), subTlvs: t.subTlvs })) };
  if (a.type === 'mp-unreach') return { ...a, unreach: { ...a.unreach, withdrawn: a.unreach.withdrawn.map(formatPrefix) } };
  return a;
}

/**
 * A JSON-friendly view of a decoded message: what `weft decode` prints and what fixture files
 * store as the expected decode. Bytes are hex strings, prefixes are text, RFC 7606 problems are
 * {code, severity, message}; a NOTIFICATION also gets its human `description`.
 */
export function messageToJson(m: BgpMessage): unknown {
  switch (m.type) {
    case 'update':
      return plain({
        ...m,
        withdrawn: m.withdrawn.map(formatPrefix),
        attributes: m.attributes.map(attributeView),
        nlri: m.nlri.map(formatPrefix),
      });
    case 'notification':
      return plain({ ...m, description: describeNotification(m.code, m.subcode) });
    case 'open':
    case 'keepalive':
    case 'route-refresh':
      return plain(m);
    default:
      return assertNever(m, 'BGP message');
  }
}

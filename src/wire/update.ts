/**
 * The UPDATE message (RFC 4271 4.3), with the revised error handling of RFC 7606.
 *
 *   +-----------------------------------------------------+
 *   |   Withdrawn Routes Length (2 octets)                |
 *   +-----------------------------------------------------+
 *   |   Withdrawn Routes (variable)                       |
 *   +-----------------------------------------------------+
 *   |   Total Path Attribute Length (2 octets)            |
 *   +-----------------------------------------------------+
 *   |   Path Attributes (variable)                        |
 *   +-----------------------------------------------------+
 *   |   Network Layer Reachability Information (variable) |
 *   +-----------------------------------------------------+
 *
 * decodeUpdate takes the whole message (19-octet header included). Errors that end the session
 * are thrown as WireError; the others (RFC 7606 attribute-discard and treat-as-withdraw) are
 * collected in `problems` while decoding goes on, and `updateSeverity` says which one wins.
 */
import { WireError, worse, type Severity } from './errors.js';
import { ATTRIBUTE_BY_CODE, CATEGORY_MASK, encodeAttribute } from './attributes.js';
import { isInvalidNextHop } from './attr-basic.js';
import { finishMessage, startMessage } from './header.js';
import { AttrFlag, AttrType, HEADER_LENGTH, MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH, MessageType } from './iana.js';
import { decodeV4Prefixes, writePrefixes } from './nlri.js';
import { familyKey, type PathAttribute, type UpdateMessage, type WireOptions } from './types.js';
import { Writer } from './writer.js';
import type { V4Prefix } from '../lib/prefix.js';

const IPV4_UNICAST = familyKey(1, 1);

/** Which attribute codes were seen in the current message: seen[code] === generation. */
const seen = new Uint32Array(256);
let generation = 0;

function markSeen(code: number): boolean {
  if (seen[code] === generation) return true;
  seen[code] = generation;
  return false;
}

/** The worst RFC 7606 outcome among an UPDATE's problems (undefined when there were none). */
export function updateSeverity(m: UpdateMessage): Severity | undefined {
  let s: Severity | undefined;
  for (const p of m.problems ?? []) s = s === undefined ? p.severity : worse(s, p.severity);
  return s;
}

export function decodeUpdate(msg: Uint8Array, opts: WireOptions): UpdateMessage {
  const total = msg.length;
  const max = opts.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
  if (total < HEADER_LENGTH + 4 || total > max || ((msg[16] << 8) | msg[17]) !== total) {
    throw new WireError('header.bad-length', `UPDATE of ${total} octets (length field ${(msg[16] << 8) | msg[17]})`, {
      data: msg.slice(16, 18),
      offset: 16,
    });
  }
  if (msg[18] !== MessageType.UPDATE) {
    throw new WireError('header.bad-type', `message type ${msg[18]} is not UPDATE`, { data: msg.slice(18, 19), offset: 18 });
  }

  // RFC 4271 6.3 / RFC 7606 4: "If the Withdrawn Routes Length or Total Attribute Length is too
  // large (i.e., if Withdrawn Routes Length + Total Attribute Length + 23 exceeds the message
  // Length), then attributes cannot be parsed and the session reset approach MUST be used."
  let p = HEADER_LENGTH;
  const withdrawnLen = (msg[p] << 8) | msg[p + 1];
  const withdrawnAt = p + 2;
  if (withdrawnAt + withdrawnLen + 2 > total) {
    throw new WireError('update.malformed-attribute-list', `withdrawn routes length ${withdrawnLen} exceeds the message`, { offset: p });
  }
  p = withdrawnAt + withdrawnLen;
  const attrLen = (msg[p] << 8) | msg[p + 1];
  const attrAt = p + 2;
  const nlriAt = attrAt + attrLen;
  if (nlriAt > total) {
    throw new WireError('update.malformed-attribute-list', `total path attribute length ${attrLen} exceeds the message`, { offset: p });
  }

  const v4AddPath = opts.addPath.has(IPV4_UNICAST);
  const m: UpdateMessage = { type: 'update', withdrawn: [], attributes: [], nlri: [] };
  // RFC 7606 5.3: withdrawn routes or NLRI that cannot be parsed reset the session.
  const withdrawnIds = v4AddPath ? [] : null;
  decodeV4Prefixes(msg, withdrawnAt, withdrawnAt + withdrawnLen, m.withdrawn, withdrawnIds, 'update.invalid-network');
  if (withdrawnIds) m.withdrawnPathIds = withdrawnIds;

  const problems: WireError[] = [];
  generation = (generation + 1) >>> 0 || 1;
  decodeAttributes(msg, attrAt, nlriAt, nlriAt < total, opts, m.attributes, problems);

  const nlriIds = v4AddPath ? [] : null;
  decodeV4Prefixes(msg, nlriAt, total, m.nlri, nlriIds, 'update.invalid-network');
  if (nlriIds) m.nlriPathIds = nlriIds;

  checkMandatory(m, problems);
  if (problems.length > 0) m.problems = problems;
  return m;
}

/** The attribute bytes (flags to end of value) as NOTIFICATION data (RFC 4271 6.3). */
function problem(e: WireError, severity: Severity, msg: Uint8Array, from: number, to: number): WireError {
  return new WireError(e.code, e.message, { data: msg.slice(from, to), severity, offset: e.offset ?? from });
}

function decodeAttributes(
  msg: Uint8Array,
  start: number,
  end: number,
  hasNlri: boolean,
  opts: WireOptions,
  out: PathAttribute[],
  problems: WireError[],
): void {
  let p = start;
  while (p < end) {
    const at = p;
    const flags = msg[p];
    const extended = (flags & AttrFlag.EXTENDED_LENGTH) !== 0;
    const headerLen = extended ? 4 : 3;
    // RFC 7606 4: too few octets left for an attribute header, or an attribute running past the
    // Total Attribute Length: treat-as-withdraw, and the NLRI are found from the total length.
    if (end - p < headerLen) {
      problems.push(new WireError('update.malformed-attribute-list', `${end - p} octet(s) left, too few for an attribute header`, { severity: 'treat-as-withdraw', offset: p }));
      return;
    }
    const code = msg[p + 1];
    const len = extended ? (msg[p + 2] << 8) | msg[p + 3] : msg[p + 2];
    const valueAt = p + headerLen;
    const valueEnd = valueAt + len;
    if (valueEnd > end) {
      problems.push(new WireError('update.malformed-attribute-list', `attribute ${code} of length ${len} runs past the path attributes`, { severity: 'treat-as-withdraw', offset: p }));
      return;
    }
    p = valueEnd;

    // RFC 7606 3g: "If the MP_REACH_NLRI attribute or the MP_UNREACH_NLRI attribute appears more
    // than once in the UPDATE message, then a NOTIFICATION message MUST be sent with the Error
    // Subcode "Malformed Attribute List". If any other attribute (whether recognized or
    // unrecognized) appears more than once in an UPDATE message, then all the occurrences of the
    // attribute other than the first one SHALL be discarded".
    if (markSeen(code)) {
      const e = new WireError('update.malformed-attribute-list', `attribute ${code} appears more than once`, { data: msg.slice(at, valueEnd), offset: at });
      if (code === AttrType.MP_REACH_NLRI || code === AttrType.MP_UNREACH_NLRI) throw e;
      problems.push(e.with({ severity: 'attribute-discard' }));
      continue;
    }

    const row = ATTRIBUTE_BY_CODE[code];
    if (row === undefined) {
      // RFC 4271 6.3: "If any of the well-known mandatory attributes are not recognized, then the
      // Error Subcode MUST be set to Unrecognized Well-known Attribute. The Data field MUST
      // contain the unrecognized attribute (type, length, and value)."
      if ((flags & AttrFlag.OPTIONAL) === 0) {
        throw new WireError('update.unrecognized-well-known', `unrecognized well-known attribute ${code}`, { data: msg.slice(at, valueEnd), offset: at });
      }
      // RFC 4271 5: unrecognized optional attributes are kept (and passed on when transitive).
      out.push({ type: 'unknown', flags, code, data: msg.slice(valueAt, valueEnd) });
      continue;
    }

    // RFC 7606 3c: "If the value of either the Optional or Transitive bits in the Attribute Flags
    // is in conflict with their specified values, then the attribute MUST be treated as malformed
    // and the "treat-as-withdraw" approach used, unless the specification for the attribute
    // mandates different handling for incorrect Attribute Flags." The attributes whose errors
    // are discarded (RFC 7606 7.6, 7.7, RFC 6793 6) are discarded for bad flags too.
    if ((flags & CATEGORY_MASK) !== row.flags) {
      const severity = row.onError === 'attribute-discard' ? 'attribute-discard' : 'treat-as-withdraw';
      const e = new WireError('update.attribute-flags', `${row.name}: flags 0x${flags.toString(16)}, expected optional/transitive bits 0x${row.flags.toString(16)}`, {
        data: msg.slice(at, valueEnd),
        severity,
        offset: at,
      });
      problems.push(e);
      if (severity === 'attribute-discard') continue;
    }

    let a: PathAttribute;
    try {
      a = row.decode(msg, valueAt, valueEnd, flags, opts);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      // The attribute's own RFC 7606 action; a malformed attribute is dropped.
      const err = problem(e, row.onError, msg, at, valueEnd);
      if (row.onError === 'session-reset') throw err;
      problems.push(err);
      continue;
    }
    // RFC 4271 6.3: a NEXT_HOP that is not a valid host address is an Invalid NEXT_HOP error;
    // RFC 7606 7.3: treat-as-withdraw. Only checked when there are IPv4 NLRI it would apply to
    // (RFC 4760 3: otherwise the NEXT_HOP is to be ignored).
    if (a.type === 'next-hop' && hasNlri && isInvalidNextHop(a.nextHop)) {
      problems.push(new WireError('update.invalid-next-hop', `NEXT_HOP ${a.nextHop} is not a unicast host address`, { data: msg.slice(at, valueEnd), severity: 'treat-as-withdraw', offset: at }));
    }
    out.push(a);
  }
}

/**
 * RFC 7606 3d: "If any of the well-known mandatory attributes are not present in an UPDATE
 * message, then "treat-as-withdraw" MUST be used. (Note that [RFC4760] reclassifies NEXT_HOP as
 * what is effectively discretionary.)" ORIGIN and AS_PATH are needed for any announcement,
 * NEXT_HOP only for IPv4 NLRI in the message body. RFC 4271 6.3: the Data field is the type code.
 * Attributes present but malformed already carry their own problem.
 */
function checkMandatory(m: UpdateMessage, problems: WireError[]): void {
  const mpNlri = m.attributes.some((a) => a.type === 'mp-reach' && (a.reach.nlri.length > 0 || (a.reach.raw?.length ?? 0) > 0));
  if (m.nlri.length === 0 && !mpNlri) return;
  const need: [number, string][] = [
    [AttrType.ORIGIN, 'ORIGIN'],
    [AttrType.AS_PATH, 'AS_PATH'],
  ];
  if (m.nlri.length > 0) need.push([AttrType.NEXT_HOP, 'NEXT_HOP']);
  for (const [code, name] of need) {
    if (seen[code] !== generation) {
      problems.push(new WireError('update.missing-well-known', `${name} is missing`, { data: Uint8Array.of(code), severity: 'treat-as-withdraw' }));
    }
  }
}

/**
 * Encodes an UPDATE byte for byte as described: attributes in the given order with their given
 * flags (Extended Length set when a value is longer than 255 octets). Throws a plain Error when
 * the message would exceed the negotiated maximum length or a value cannot be encoded.
 */
export function encodeUpdate(m: UpdateMessage, opts: WireOptions): Uint8Array {
  const w = new Writer(1024);
  const start = startMessage(w, MessageType.UPDATE);
  const v4AddPath = opts.addPath.has(IPV4_UNICAST);
  const wlAt = w.reserve(2);
  writePrefixes(w, 1, m.withdrawn, m.withdrawnPathIds, v4AddPath);
  patchLength(w, wlAt, 'withdrawn routes');
  const alAt = w.reserve(2);
  for (const a of m.attributes) encodeAttribute(w, a, opts);
  patchLength(w, alAt, 'path attributes');
  writePrefixes(w, 1, m.nlri as V4Prefix[], m.nlriPathIds, v4AddPath);
  finishMessage(w, start, opts.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH);
  return w.finish();
}

function patchLength(w: Writer, at: number, what: string): void {
  const len = w.pos - at - 2;
  if (len > 0xffff) throw new Error(`${what} of ${len} octets do not fit`);
  w.patchU16(at, len);
}

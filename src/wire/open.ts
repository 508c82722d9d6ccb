/**
 * The OPEN message (RFC 4271 4.2), with RFC 9072 extended optional parameters length.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+
 * |    Version    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     My Autonomous System      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Hold Time           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         BGP Identifier                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Opt Parm Len  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |             Optional Parameters (variable)                    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Each parameter: Parm. Type (1) | Parm. Length (1) | Parameter Value.
 *
 * RFC 9072 2, the extended form: Opt Parm Len = 255 ("Non-Ext OP Len"), then a 255 octet
 * ("Non-Ext OP Type"), then a 2-octet Extended Opt. Parm. Length; each parameter then has a
 * 2-octet Parm. Length.
 */
import { ipv4ToNumber, numberToIpv4 } from '../lib/address.js';
import { decodeCapabilityList, writeCapabilities } from './capabilities.js';
import { WireError } from './errors.js';
import { finishMessage, startMessage } from './header.js';
import { AS_TRANS, HEADER_LENGTH, MessageType, OptParamType } from './iana.js';
import { Reader } from './reader.js';
import type { Capability, OpenMessage, OptionalParameter } from './types.js';
import { Writer } from './writer.js';

/** RFC 4271 4.2: the fixed part of an OPEN, header included. */
const OPEN_FIXED_LENGTH = HEADER_LENGTH + 10;
/** The only BGP version weft speaks (RFC 4271 4.2). */
export const BGP_VERSION = 4;

function lengthField(msg: Uint8Array): Uint8Array {
  return msg.length >= 18 ? new Uint8Array(msg.subarray(16, 18)) : new Uint8Array(0);
}

function badLength(msg: Uint8Array, why: string): WireError {
  return new WireError('header.bad-length', `OPEN message length ${msg.length}: ${why}`, { data: lengthField(msg), offset: 16 });
}

export function decodeOpen(msg: Uint8Array): OpenMessage {
  if (msg.length < OPEN_FIXED_LENGTH) throw badLength(msg, `shorter than the ${OPEN_FIXED_LENGTH} octets of its fixed fields`);
  const r = new Reader(msg, HEADER_LENGTH, msg.length, 'header.bad-length');
  const version = r.u8('version');
  // RFC 4271 6.2: "If the version number in the Version field of the received OPEN message is not
  // supported, then the Error Subcode MUST be set to Unsupported Version Number. The Data field is
  // a 2-octet unsigned integer, which indicates the largest, locally-supported version number".
  if (version !== BGP_VERSION) {
    throw new WireError('open.unsupported-version', `BGP version ${version} is not supported (weft speaks ${BGP_VERSION})`, {
      data: Uint8Array.of(0, BGP_VERSION),
      offset: HEADER_LENGTH,
    });
  }
  const myAs = r.u16('My Autonomous System');
  const holdTime = r.u16('Hold Time');
  const bgpId = numberToIpv4(r.u32('BGP Identifier'));
  const optLen = r.u8('Opt Parm Len');

  // RFC 9072 2: a Non-Ext OP Type of 255 (a parameter type reserved for this) announces the
  // extended format.
  let extended = false;
  let paramsLength = optLen;
  if (optLen > 0 && r.remaining > 0 && msg[r.pos] === OptParamType.EXTENDED_LENGTH) {
    // RFC 9072 2: in the extended format Non-Ext OP Len MUST be 255. Anything else could not be
    // re-encoded as received, so it is refused as malformed.
    if (optLen !== 255) {
      throw new WireError('open.malformed', `extended optional parameters with Non-Ext OP Len ${optLen}, not 255`, { offset: r.pos - 1 });
    }
    if (r.remaining < 3) throw badLength(msg, 'too short for the extended optional parameters length');
    r.u8();
    paramsLength = r.u16('Extended Opt. Parm. Length');
    extended = true;
  }
  // The parameters must fill the message exactly: otherwise the header length is wrong for an
  // OPEN (RFC 4271 6.1 Bad Message Length, data = the erroneous Length field).
  if (paramsLength !== r.remaining) {
    throw badLength(msg, `optional parameters length ${paramsLength} but ${r.remaining} octet(s) follow`);
  }

  // RFC 4271 6.2: a parameter running past the parameter area is malformed (subcode 0).
  const pr = new Reader(msg, r.pos, r.end, 'open.malformed');
  const params: OptionalParameter[] = [];
  while (pr.remaining > 0) {
    const code = pr.u8('parameter type');
    const len = extended ? pr.u16('parameter length') : pr.u8('parameter length');
    const value = pr.sub(len, `value of optional parameter ${code}`);
    if (code === OptParamType.CAPABILITIES) {
      params.push({ type: 'capabilities', capabilities: decodeCapabilityList(value) });
    } else {
      // RFC 4271 6.2 makes an unrecognized parameter an Unsupported Optional Parameter error; the
      // session layer decides, so it is kept here.
      params.push({ type: 'unknown', code, data: new Uint8Array(value.bytes(value.remaining)) });
    }
  }
  const open: OpenMessage = { type: 'open', version, myAs, holdTime, bgpId, params };
  if (extended) open.extendedParams = true;
  return open;
}

function paramValue(p: OptionalParameter): { code: number; value: Uint8Array } {
  if (p.type === 'unknown') return { code: p.code, value: p.data };
  const w = new Writer(64);
  writeCapabilities(w, p.capabilities);
  return { code: OptParamType.CAPABILITIES, value: w.finish() };
}

/**
 * Whether an OPEN with these parameters needs the RFC 9072 extended format: the parameters do
 * not fit the 1-octet lengths. RFC 9072 2: otherwise the base encoding should be used.
 */
function needsExtended(values: { value: Uint8Array }[]): boolean {
  let total = 0;
  for (const { value } of values) {
    if (value.length > 255) return true;
    total += 2 + value.length;
  }
  return total > 255;
}

export function encodeOpen(m: OpenMessage): Uint8Array {
  const w = new Writer(64 + m.params.length * 16);
  const start = startMessage(w, MessageType.OPEN);
  w.u8(m.version).u16(m.myAs).u16(m.holdTime).u32(ipv4ToNumber(m.bgpId));
  const values = m.params.map(paramValue);
  if (m.extendedParams || needsExtended(values)) {
    w.u8(255).u8(OptParamType.EXTENDED_LENGTH);
    const lengthAt = w.reserve(2);
    for (const { code, value } of values) w.u8(code).u16(value.length).bytes(value);
    w.patchU16(lengthAt, w.pos - lengthAt - 2);
  } else {
    const lengthAt = w.reserve(1);
    for (const { code, value } of values) w.u8(code).u8(value.length).bytes(value);
    w.patchU8(lengthAt, w.pos - lengthAt - 1);
  }
  // RFC 8654 3: OPEN is never an extended message.
  finishMessage(w, start);
  return w.finish();
}

/** All capabilities of an OPEN, flattened across its parameters, in order. */
export function capabilitiesOf(open: OpenMessage): Capability[] {
  return open.params.flatMap((p) => (p.type === 'capabilities' ? p.capabilities : []));
}

/** The speaker's AS: RFC 6793 4.1, the 4-octet AS capability if present, else My Autonomous System. */
export function openAsn(open: OpenMessage): number {
  for (const c of capabilitiesOf(open)) if (c.type === 'four-octet-as') return c.asn;
  return open.myAs;
}

export interface OpenOptions {
  asn: number;
  holdTime: number;
  bgpId: string;
  capabilities: Capability[];
}

/**
 * An OPEN as weft sends it: version 4, one capability per optional parameter, and RFC 6793 4.1:
 * AS_TRANS in My Autonomous System when the AS does not fit 2 octets (the caller includes the
 * four-octet-as capability carrying the real AS).
 */
export function buildOpen(o: OpenOptions): OpenMessage {
  const params: OptionalParameter[] = o.capabilities.map((c) => ({ type: 'capabilities', capabilities: [c] }));
  const open: OpenMessage = {
    type: 'open',
    version: BGP_VERSION,
    myAs: o.asn > 0xffff ? AS_TRANS : o.asn,
    holdTime: o.holdTime,
    bgpId: o.bgpId,
    params,
  };
  if (needsExtended(params.map(paramValue))) open.extendedParams = true;
  return open;
}

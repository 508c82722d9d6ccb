/**
 * The NOTIFICATION message (RFC 4271 4.5), with the RFC 9003 shutdown communication.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Error code    | Error subcode |   Data (variable)             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * RFC 9003 2: for Cease / Administrative Shutdown and Cease / Administrative Reset the data is
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Error code 6  |    Subcode    |     Length    |     ...       \
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+               /
 * \                 Shutdown Communication ...                    \
 * /                                                               /
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The data is always kept as received (re-encoding is byte-exact); `shutdownMessage` is set only
 * when the data is a well-formed shutdown communication.
 */
import type { WireError } from './errors.js';
import { finishMessage, startMessage } from './header.js';
import {
  CeaseSubcode,
  ErrorCode,
  FsmSubcode,
  HEADER_LENGTH,
  HeaderSubcode,
  MAX_MESSAGE_LENGTH,
  MessageType,
  OpenSubcode,
  RouteRefreshSubcode,
  UpdateSubcode,
} from './iana.js';
import { Reader } from './reader.js';
import type { NotificationMessage } from './types.js';
import { Writer } from './writer.js';

/** Header plus error code and subcode. */
const NOTIFICATION_FIXED_LENGTH = HEADER_LENGTH + 2;
/** RFC 9003 2: the length octet limits the communication to 255 octets of UTF-8. */
export const MAX_SHUTDOWN_MESSAGE_OCTETS = 255;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** RFC 9003 2: whether this code/subcode carries a shutdown communication. */
export function carriesShutdownMessage(code: number, subcode: number): boolean {
  return (
    code === ErrorCode.CEASE &&
    (subcode === CeaseSubcode.ADMINISTRATIVE_SHUTDOWN || subcode === CeaseSubcode.ADMINISTRATIVE_RESET)
  );
}

/**
 * The shutdown communication in `data`, or undefined when it is absent or malformed. RFC 9003 4:
 * a bad length or invalid UTF-8 is only logged, never a reason for further errors.
 */
export function parseShutdownMessage(data: Uint8Array): string | undefined {
  if (data.length < 1 || data[0] !== data.length - 1) return undefined;
  try {
    return utf8Decoder.decode(data.subarray(1));
  } catch {
    return undefined;
  }
}

function make(code: number, subcode: number, data: Uint8Array): NotificationMessage {
  const m: NotificationMessage = { type: 'notification', code, subcode, data };
  if (carriesShutdownMessage(code, subcode)) {
    const text = parseShutdownMessage(data);
    if (text !== undefined) m.shutdownMessage = text;
  }
  return m;
}

export function decodeNotification(msg: Uint8Array): NotificationMessage {
  const r = new Reader(msg, HEADER_LENGTH, msg.length, 'header.bad-length');
  const code = r.u8('error code');
  const subcode = r.u8('error subcode');
  return make(code, subcode, new Uint8Array(r.bytes(r.remaining)));
}

/** `maxLength`: 65535 once RFC 8654 extended messages are negotiated. */
export function encodeNotification(m: NotificationMessage, maxLength = MAX_MESSAGE_LENGTH): Uint8Array {
  const w = new Writer(NOTIFICATION_FIXED_LENGTH + m.data.length);
  const start = startMessage(w, MessageType.NOTIFICATION);
  w.u8(m.code).u8(m.subcode).bytes(m.data);
  finishMessage(w, start, maxLength);
  return w.finish();
}

/**
 * The NOTIFICATION for a codec error. Data that would not fit the message (e.g. a whole
 * oversized message quoted back) is cut to fit: a NOTIFICATION must never exceed the maximum.
 */
export function buildNotification(err: WireError, maxLength = MAX_MESSAGE_LENGTH): NotificationMessage {
  const { code, subcode, data } = err.notification;
  const room = maxLength - NOTIFICATION_FIXED_LENGTH;
  return make(code, subcode, new Uint8Array(data.length > room ? data.subarray(0, room) : data));
}

/**
 * Cease / Administrative Shutdown (2) or Administrative Reset (4) with an RFC 9003 communication.
 * Text longer than 255 octets of UTF-8 is cut at a character boundary.
 */
export function buildShutdown(subcode: number, text: string): NotificationMessage {
  let bytes = utf8Encoder.encode(text);
  if (bytes.length > MAX_SHUTDOWN_MESSAGE_OCTETS) {
    let cut = MAX_SHUTDOWN_MESSAGE_OCTETS;
    while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--; // back up to the start of a character
    bytes = bytes.subarray(0, cut);
  }
  const data = new Uint8Array(1 + bytes.length);
  data[0] = bytes.length;
  data.set(bytes, 1);
  return make(ErrorCode.CEASE, subcode, data);
}

// ---------------------------------------------------------------- names

/** IANA "BGP Error (Notification) Codes". */
const CODE_NAMES: Record<(typeof ErrorCode)[keyof typeof ErrorCode], string> = {
  [ErrorCode.MESSAGE_HEADER]: 'Message Header Error',
  [ErrorCode.OPEN_MESSAGE]: 'OPEN Message Error',
  [ErrorCode.UPDATE_MESSAGE]: 'UPDATE Message Error',
  [ErrorCode.HOLD_TIMER_EXPIRED]: 'Hold Timer Expired',
  [ErrorCode.FSM]: 'Finite State Machine Error',
  [ErrorCode.CEASE]: 'Cease',
  [ErrorCode.ROUTE_REFRESH]: 'ROUTE-REFRESH Message Error',
  [ErrorCode.SEND_HOLD_TIMER_EXPIRED]: 'Send Hold Timer Expired',
};

type SubcodeNames<T extends Record<string, number>> = Record<T[keyof T], string>;

/** IANA "Message Header Error subcodes" (RFC 4271 6.1). */
const HEADER_NAMES: SubcodeNames<typeof HeaderSubcode> = {
  [HeaderSubcode.CONNECTION_NOT_SYNCHRONIZED]: 'Connection Not Synchronized',
  [HeaderSubcode.BAD_MESSAGE_LENGTH]: 'Bad Message Length',
  [HeaderSubcode.BAD_MESSAGE_TYPE]: 'Bad Message Type',
};

/** IANA "OPEN Message Error subcodes". */
const OPEN_NAMES: SubcodeNames<typeof OpenSubcode> = {
  [OpenSubcode.UNSUPPORTED_VERSION]: 'Unsupported Version Number',
  [OpenSubcode.BAD_PEER_AS]: 'Bad Peer AS',
  [OpenSubcode.BAD_BGP_IDENTIFIER]: 'Bad BGP Identifier',
  [OpenSubcode.UNSUPPORTED_OPTIONAL_PARAMETER]: 'Unsupported Optional Parameter',
  [OpenSubcode.UNACCEPTABLE_HOLD_TIME]: 'Unacceptable Hold Time',
  [OpenSubcode.UNSUPPORTED_CAPABILITY]: 'Unsupported Capability',
  [OpenSubcode.ROLE_MISMATCH]: 'Role Mismatch',
};

/** IANA "UPDATE Message Error subcodes". */
const UPDATE_NAMES: SubcodeNames<typeof UpdateSubcode> = {
  [UpdateSubcode.MALFORMED_ATTRIBUTE_LIST]: 'Malformed Attribute List',
  [UpdateSubcode.UNRECOGNIZED_WELLKNOWN_ATTRIBUTE]: 'Unrecognized Well-known Attribute',
  [UpdateSubcode.MISSING_WELLKNOWN_ATTRIBUTE]: 'Missing Well-known Attribute',
  [UpdateSubcode.ATTRIBUTE_FLAGS_ERROR]: 'Attribute Flags Error',
  [UpdateSubcode.ATTRIBUTE_LENGTH_ERROR]: 'Attribute Length Error',
  [UpdateSubcode.INVALID_ORIGIN_ATTRIBUTE]: 'Invalid ORIGIN Attribute',
  [UpdateSubcode.INVALID_NEXT_HOP_ATTRIBUTE]: 'Invalid NEXT_HOP Attribute',
  [UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR]: 'Optional Attribute Error',
  [UpdateSubcode.INVALID_NETWORK_FIELD]: 'Invalid Network Field',
  [UpdateSubcode.MALFORMED_AS_PATH]: 'Malformed AS_PATH',
};

/** RFC 6608 4 / IANA "BGP Finite State Machine Error Subcodes". */
const FSM_NAMES: SubcodeNames<typeof FsmSubcode> = {
  [FsmSubcode.UNSPECIFIED]: 'Unspecified Error',
  [FsmSubcode.UNEXPECTED_IN_OPENSENT]: 'Receive Unexpected Message in OpenSent State',
  [FsmSubcode.UNEXPECTED_IN_OPENCONFIRM]: 'Receive Unexpected Message in OpenConfirm State',
  [FsmSubcode.UNEXPECTED_IN_ESTABLISHED]: 'Receive Unexpected Message in Established State',
};

/** IANA "BGP Cease NOTIFICATION message subcodes". */
const CEASE_NAMES: SubcodeNames<typeof CeaseSubcode> = {
  [CeaseSubcode.MAX_PREFIXES]: 'Maximum Number of Prefixes Reached',
  [CeaseSubcode.ADMINISTRATIVE_SHUTDOWN]: 'Administrative Shutdown',
  [CeaseSubcode.PEER_DECONFIGURED]: 'Peer De-configured',
  [CeaseSubcode.ADMINISTRATIVE_RESET]: 'Administrative Reset',
  [CeaseSubcode.CONNECTION_REJECTED]: 'Connection Rejected',
  [CeaseSubcode.OTHER_CONFIGURATION_CHANGE]: 'Other Configuration Change',
  [CeaseSubcode.CONNECTION_COLLISION_RESOLUTION]: 'Connection Collision Resolution',
  [CeaseSubcode.OUT_OF_RESOURCES]: 'Out of Resources',
  [CeaseSubcode.HARD_RESET]: 'Hard Reset',
  [CeaseSubcode.BFD_DOWN]: 'BFD Down',
};

/** IANA "BGP ROUTE-REFRESH Message Error subcodes" (RFC 7313 5). */
const ROUTE_REFRESH_NAMES: SubcodeNames<typeof RouteRefreshSubcode> = {
  [RouteRefreshSubcode.INVALID_MESSAGE_LENGTH]: 'Invalid Message Length',
};

const SUBCODE_NAMES: Partial<Record<number, Partial<Record<number, string>>>> = {
  [ErrorCode.MESSAGE_HEADER]: HEADER_NAMES,
  [ErrorCode.OPEN_MESSAGE]: OPEN_NAMES,
  [ErrorCode.UPDATE_MESSAGE]: UPDATE_NAMES,
  [ErrorCode.FSM]: FSM_NAMES,
  [ErrorCode.CEASE]: CEASE_NAMES,
  [ErrorCode.ROUTE_REFRESH]: ROUTE_REFRESH_NAMES,
};

/**
 * Human text for a code/subcode: "Cease / Administrative Shutdown". A code without subcodes and
 * subcode 0 gives the code's name alone; an unknown subcode "Cease / subcode 42"; subcode 0 of
 * Header, OPEN and UPDATE errors "... / Unspecific" (IANA); an unknown code "code 9 subcode 3".
 */
export function describeNotification(code: number, subcode: number): string {
  const codeName = (CODE_NAMES as Partial<Record<number, string>>)[code];
  if (codeName === undefined) return `code ${code} subcode ${subcode}`;
  const names = SUBCODE_NAMES[code];
  const name = names?.[subcode];
  if (name !== undefined) return `${codeName} / ${name}`;
  if (subcode === 0) return names === undefined || code === ErrorCode.CEASE ? codeName : `${codeName} / Unspecific`;
  return `${codeName} / subcode ${subcode}`;
}

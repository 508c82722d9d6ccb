/**
 * The one error type the codec throws. Each error has a stable string code (for logs, metrics and
 * tests), the NOTIFICATION code/subcode/data the RFC prescribes, and an RFC 7606 severity. The
 * mapping from string code to NOTIFICATION lives in this table and nowhere else.
 */
import { CeaseSubcode, ErrorCode, FsmSubcode, HeaderSubcode, OpenSubcode, RouteRefreshSubcode, UpdateSubcode } from './iana.js';

/**
 * RFC 7606 2: the outcomes of an error in an UPDATE, in order of severity. The worst wins.
 * - attribute-discard: the attribute is dropped, the route is kept (RFC 7606 2, "attribute discard").
 * - treat-as-withdraw: the UPDATE's routes are handled as withdrawn; the session stays up.
 * - session-reset: a NOTIFICATION is sent and the session ends.
 */
export const SEVERITIES = ['attribute-discard', 'treat-as-withdraw', 'session-reset'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function worse(a: Severity, b: Severity): Severity {
  return SEVERITIES.indexOf(a) >= SEVERITIES.indexOf(b) ? a : b;
}

const H = ErrorCode.MESSAGE_HEADER;
const O = ErrorCode.OPEN_MESSAGE;
const U = ErrorCode.UPDATE_MESSAGE;

/** String code -> [NOTIFICATION error code, subcode]. RFC 4271 6, RFC 6608, RFC 4486, RFC 7313. */
export const WIRE_ERRORS = {
  'header.not-synchronized': [H, HeaderSubcode.CONNECTION_NOT_SYNCHRONIZED], // RFC 4271 6.1: marker not all ones
  'header.bad-length': [H, HeaderSubcode.BAD_MESSAGE_LENGTH], // RFC 4271 6.1: data = the length field
  'header.bad-type': [H, HeaderSubcode.BAD_MESSAGE_TYPE], // RFC 4271 6.1: data = the type octet
  'open.unsupported-version': [O, OpenSubcode.UNSUPPORTED_VERSION], // data = largest supported version (2 octets)
  'open.bad-peer-as': [O, OpenSubcode.BAD_PEER_AS],
  'open.bad-bgp-id': [O, OpenSubcode.BAD_BGP_IDENTIFIER],
  'open.unsupported-opt-param': [O, OpenSubcode.UNSUPPORTED_OPTIONAL_PARAMETER],
  'open.unacceptable-hold-time': [O, OpenSubcode.UNACCEPTABLE_HOLD_TIME],
  'open.unsupported-capability': [O, OpenSubcode.UNSUPPORTED_CAPABILITY], // RFC 5492 5: data = the capabilities
  'open.role-mismatch': [O, OpenSubcode.ROLE_MISMATCH],
  'open.malformed': [O, 0], // RFC 4271 6.2 names no subcode for a malformed parameter list: 0 (unspecific)
  'update.malformed-attribute-list': [U, UpdateSubcode.MALFORMED_ATTRIBUTE_LIST],
  'update.unrecognized-well-known': [U, UpdateSubcode.UNRECOGNIZED_WELLKNOWN_ATTRIBUTE],
  'update.missing-well-known': [U, UpdateSubcode.MISSING_WELLKNOWN_ATTRIBUTE],
  'update.attribute-flags': [U, UpdateSubcode.ATTRIBUTE_FLAGS_ERROR],
  'update.attribute-length': [U, UpdateSubcode.ATTRIBUTE_LENGTH_ERROR],
  'update.invalid-origin': [U, UpdateSubcode.INVALID_ORIGIN_ATTRIBUTE],
  'update.invalid-next-hop': [U, UpdateSubcode.INVALID_NEXT_HOP_ATTRIBUTE],
  'update.optional-attribute': [U, UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR],
  'update.invalid-network': [U, UpdateSubcode.INVALID_NETWORK_FIELD],
  'update.malformed-as-path': [U, UpdateSubcode.MALFORMED_AS_PATH],
  'hold-timer-expired': [ErrorCode.HOLD_TIMER_EXPIRED, 0],
  'send-hold-timer-expired': [ErrorCode.SEND_HOLD_TIMER_EXPIRED, 0],
  'fsm.unexpected': [ErrorCode.FSM, FsmSubcode.UNSPECIFIED],
  'fsm.unexpected-in-opensent': [ErrorCode.FSM, FsmSubcode.UNEXPECTED_IN_OPENSENT],
  'fsm.unexpected-in-openconfirm': [ErrorCode.FSM, FsmSubcode.UNEXPECTED_IN_OPENCONFIRM],
  'fsm.unexpected-in-established': [ErrorCode.FSM, FsmSubcode.UNEXPECTED_IN_ESTABLISHED],
  'cease.max-prefixes': [ErrorCode.CEASE, CeaseSubcode.MAX_PREFIXES],
  'cease.administrative-shutdown': [ErrorCode.CEASE, CeaseSubcode.ADMINISTRATIVE_SHUTDOWN],
  'cease.peer-deconfigured': [ErrorCode.CEASE, CeaseSubcode.PEER_DECONFIGURED],
  'cease.administrative-reset': [ErrorCode.CEASE, CeaseSubcode.ADMINISTRATIVE_RESET],
  'cease.connection-rejected': [ErrorCode.CEASE, CeaseSubcode.CONNECTION_REJECTED],
  'cease.other-configuration-change': [ErrorCode.CEASE, CeaseSubcode.OTHER_CONFIGURATION_CHANGE],
  'cease.connection-collision': [ErrorCode.CEASE, CeaseSubcode.CONNECTION_COLLISION_RESOLUTION],
  'cease.out-of-resources': [ErrorCode.CEASE, CeaseSubcode.OUT_OF_RESOURCES],
  'cease.hard-reset': [ErrorCode.CEASE, CeaseSubcode.HARD_RESET],
  'cease.bfd-down': [ErrorCode.CEASE, CeaseSubcode.BFD_DOWN],
  'route-refresh.bad-length': [ErrorCode.ROUTE_REFRESH, RouteRefreshSubcode.INVALID_MESSAGE_LENGTH],
} as const satisfies Record<string, readonly [number, number]>;

export type WireErrorCode = keyof typeof WIRE_ERRORS;

export interface NotificationFields {
  code: number;
  subcode: number;
  data: Uint8Array;
}

export class WireError extends Error {
  readonly code: WireErrorCode;
  readonly notification: NotificationFields;
  readonly severity: Severity;
  /** Byte offset of the problem within the message or stream being decoded, where known. */
  readonly offset: number | undefined;

  constructor(
    code: WireErrorCode,
    message: string,
    opts: { data?: Uint8Array; severity?: Severity; offset?: number } = {},
  ) {
    super(message);
    this.name = 'WireError';
    this.code = code;
    const [c, s] = WIRE_ERRORS[code];
    this.notification = { code: c, subcode: s, data: opts.data ?? new Uint8Array(0) };
    this.severity = opts.severity ?? 'session-reset';
    this.offset = opts.offset;
  }

  /** A copy at a different severity or offset (RFC 7606 decides severity at the call site). */
  with(opts: { severity?: Severity; offset?: number }): WireError {
    return new WireError(this.code, this.message, {
      data: this.notification.data,
      severity: opts.severity ?? this.severity,
      offset: opts.offset ?? this.offset,
    });
  }
}

export function isWireError(e: unknown): e is WireError {
  return e instanceof WireError;
}

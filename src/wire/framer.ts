/**
 * Framing a TCP byte stream into BGP messages (RFC 4271 4.1).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * +                                                               +
 * |                           Marker                              |
 * +                                                               +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Length               |      Type     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Three outcomes for the bytes at hand: a frame, need-more, or a header error. A length outside
 * 19..max is an error at once (never a wait for bytes that would not make it valid).
 */
import { WireError } from './errors.js';
import { HEADER_LENGTH, MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH, MessageType } from './iana.js';

export type FrameResult =
  | { kind: 'frame'; type: number; length: number }
  | { kind: 'need-more'; need: number }
  | { kind: 'error'; error: WireError };

/** Minimum length per message type (RFC 4271 4.2-4.5, RFC 2918 3). */
const MIN_LENGTH: Record<number, number> = {
  [MessageType.OPEN]: 29,
  [MessageType.UPDATE]: 23,
  [MessageType.NOTIFICATION]: 21,
  [MessageType.KEEPALIVE]: 19,
  [MessageType.ROUTE_REFRESH]: 23,
};

/**
 * Looks at the header starting at `offset`. Checks marker, length (RFC 4271 6.1: Bad Message
 * Length with the erroneous length field as data) and type (Bad Message Type, data = type octet).
 */
export function frameAt(buf: Uint8Array, offset: number, end: number, maxLength = MAX_MESSAGE_LENGTH): FrameResult {
  const have = end - offset;
  // The marker is checked as soon as its bytes arrive: a desynchronised stream fails fast.
  const markerBytes = Math.min(have, 16);
  for (let i = 0; i < markerBytes; i++) {
    if (buf[offset + i] !== 0xff) {
      return {
        kind: 'error',
        error: new WireError('header.not-synchronized', `marker byte ${i} is 0x${buf[offset + i].toString(16).padStart(2, '0')}, not 0xff`, {
          offset: offset + i,
        }),
      };
    }
  }
  if (have < 18) return { kind: 'need-more', need: HEADER_LENGTH - have };
  const length = (buf[offset + 16] << 8) | buf[offset + 17];
  if (length < HEADER_LENGTH || length > maxLength) {
    return {
      kind: 'error',
      error: new WireError('header.bad-length', `message length ${length} is outside ${HEADER_LENGTH}..${maxLength}`, {
        data: buf.slice(offset + 16, offset + 18),
        offset: offset + 16,
      }),
    };
  }
  if (have < HEADER_LENGTH) return { kind: 'need-more', need: HEADER_LENGTH - have };
  const type = buf[offset + 18];
  const min = MIN_LENGTH[type];
  if (min === undefined) {
    return {
      kind: 'error',
      error: new WireError('header.bad-type', `unknown message type ${type}`, { data: Uint8Array.of(type), offset: offset + 18 }),
    };
  }
  // RFC 4271 6.1: a length too small for the type (or KEEPALIVE not exactly 19) is Bad Message Length.
  if (length < min || (type === MessageType.KEEPALIVE && length !== HEADER_LENGTH)) {
    return {
      kind: 'error',
      error: new WireError('header.bad-length', `message length ${length} is wrong for message type ${type}`, {
        data: buf.slice(offset + 16, offset + 18),
        offset: offset + 16,
      }),
    };
  }
  if (have < length) return { kind: 'need-more', need: length - have };
  return { kind: 'frame', type, length };
}

/**
 * Accumulates chunks of a stream and yields whole messages (each a Uint8Array of the full message,
 * header included). Pure: no sockets, no timers. After an error the framer stays failed.
 */
export class Framer {
  private buf: Uint8Array = new Uint8Array(0);
  private start = 0;
  private end = 0;
  private failed: WireError | undefined;
  /** Bytes consumed from the stream so far (for error offsets). */
  consumed = 0;

  constructor(public maxLength = MAX_MESSAGE_LENGTH) {}

  /** RFC 8654: after the extended message capability is negotiated. */
  enableExtendedMessages(): void {
    this.maxLength = MAX_EXTENDED_MESSAGE_LENGTH;
  }

  /** Appends a chunk; returns the whole messages now available, and an error if framing failed. */
  push(chunk: Uint8Array): { messages: Uint8Array[]; error?: WireError } {
    if (this.failed) return { messages: [], error: this.failed };
    this.append(chunk);
    const messages: Uint8Array[] = [];
    while (this.start < this.end) {
      const r = frameAt(this.buf, this.start, this.end, this.maxLength);
      if (r.kind === 'need-more') break;
      if (r.kind === 'error') {
        this.failed = r.error.with({ offset: this.consumed + ((r.error.offset ?? this.start) - this.start) });
        return { messages, error: this.failed };
      }
      messages.push(this.buf.subarray(this.start, this.start + r.length));
      this.start += r.length;
      this.consumed += r.length;
    }
    return { messages };
  }

  /** Bytes held that do not yet make a whole message. */
  get pending(): number {
    return this.end - this.start;
  }

  private append(chunk: Uint8Array): void {
    const held = this.end - this.start;
    if (held === 0) {
      // Fast path: nothing held, frame straight from the chunk (no copy).
      this.buf = chunk;
      this.start = 0;
      this.end = chunk.length;
      return;
    }
    // Messages handed out earlier may be views of this.buf: always copy into a fresh buffer.
    const next = new Uint8Array(held + chunk.length);
    next.set(this.buf.subarray(this.start, this.end));
    next.set(chunk, held);
    this.buf = next;
    this.start = 0;
    this.end = next.length;
  }
}

/** Writing the RFC 4271 4.1 header around a message body (see framer.ts for the diagram). */
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH } from './iana.js';
import type { Writer } from './writer.js';

/** Writes marker, a length placeholder and the type; returns the message's start offset. */
export function startMessage(w: Writer, type: number): number {
  const start = w.pos;
  for (let i = 0; i < 16; i++) w.u8(0xff);
  w.u16(0);
  w.u8(type);
  return start;
}

/**
 * Patches the length of the message begun at `start`. An encoder must never produce a message
 * longer than the negotiated maximum: that is a bug in the caller, so it throws a plain Error.
 */
export function finishMessage(w: Writer, start: number, maxLength = MAX_MESSAGE_LENGTH): void {
  const length = w.pos - start;
  if (length > maxLength) throw new Error(`encoded message is ${length} octets, more than the maximum ${maxLength}`);
  w.patchU16(start + 16, length);
}

/** Offset of the body within a whole message. */
export const BODY = HEADER_LENGTH;

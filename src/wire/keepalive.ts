/**
 * The KEEPALIVE message (RFC 4271 4.4): the 19-octet header alone.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     Marker (16 octets)                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Length = 19          |   Type = 4    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { WireError } from './errors.js';
import { finishMessage, startMessage } from './header.js';
import { HEADER_LENGTH, MessageType } from './iana.js';
import type { KeepaliveMessage } from './types.js';
import { Writer } from './writer.js';

export function decodeKeepalive(msg: Uint8Array): KeepaliveMessage {
  // RFC 4271 6.1: a KEEPALIVE whose length is not 19 is a Bad Message Length (data = the length field).
  if (msg.length !== HEADER_LENGTH) {
    throw new WireError('header.bad-length', `KEEPALIVE message is ${msg.length} octets, not ${HEADER_LENGTH}`, {
      data: msg.length >= 18 ? new Uint8Array(msg.subarray(16, 18)) : new Uint8Array(0),
      offset: 16,
    });
  }
  return { type: 'keepalive' };
}

export function encodeKeepalive(): Uint8Array {
  const w = new Writer(HEADER_LENGTH);
  const start = startMessage(w, MessageType.KEEPALIVE);
  finishMessage(w, start);
  return w.finish();
}

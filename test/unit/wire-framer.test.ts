import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/lib/hex.js';
import { Framer, frameAt } from '../../src/wire/framer.js';
import type { WireError } from '../../src/wire/errors.js';

const MARKER = 'ff'.repeat(16);

/** A message with a correct header: marker, length, type, then `bodyLength` octets of 0xab. */
function message(type: number, bodyLength: number): Uint8Array {
  const len = 19 + bodyLength;
  const m = new Uint8Array(len).fill(0xab);
  m.fill(0xff, 0, 16);
  m[16] = len >> 8;
  m[17] = len & 255;
  m[18] = type;
  return m;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const KEEPALIVE = fromHex(`${MARKER} 0013 04`);
// RFC 4271 4.2: a minimal OPEN (version 4, AS 65001, hold 90, id 10.0.0.1, no parameters).
const OPEN = fromHex(`${MARKER} 001d 01  04 fde9 005a 0a000001 00`);
// RFC 4271 4.3: the smallest UPDATE (no withdrawals, no attributes).
const EOR = fromHex(`${MARKER} 0017 02  0000 0000`);
// RFC 4271 4.5: Cease / Administrative Reset, no data.
const NOTIFICATION = fromHex(`${MARKER} 0015 03  06 04`);

function expectError(err: WireError | undefined, code: string, notif: [number, number, string]): void {
  expect(err).toBeDefined();
  expect(err?.code).toBe(code);
  expect([err?.notification.code, err?.notification.subcode, toHex(err?.notification.data ?? new Uint8Array())]).toEqual(notif);
}

describe('Framer', () => {
  it('yields several messages from one chunk', () => {
    const f = new Framer();
    const stream = concat(OPEN, KEEPALIVE, EOR, NOTIFICATION);
    const r = f.push(stream);
    expect(r.error).toBeUndefined();
    expect(r.messages.map(toHex)).toEqual([OPEN, KEEPALIVE, EOR, NOTIFICATION].map(toHex));
    expect(f.pending).toBe(0);
    expect(f.consumed).toBe(stream.length);
  });

  it('keeps a partial tail and completes it with the next chunk', () => {
    const f = new Framer();
    const stream = concat(KEEPALIVE, OPEN);
    const first = f.push(stream.subarray(0, 25));
    expect(first.messages.map(toHex)).toEqual([toHex(KEEPALIVE)]);
    expect(f.pending).toBe(6);
    const second = f.push(stream.subarray(25));
    expect(second.messages.map(toHex)).toEqual([toHex(OPEN)]);
    expect(f.pending).toBe(0);
  });

  it('reassembles one message split at every byte offset', () => {
    const msg = concat(OPEN.subarray(0, 16), fromHex('0025 01 04fde9005a0a000001 08 0206 0104 00010001'));
    expect(msg.length).toBe(0x25);
    for (let cut = 0; cut <= msg.length; cut++) {
      const f = new Framer();
      const a = f.push(msg.slice(0, cut));
      const b = f.push(msg.slice(cut));
      expect(a.error ?? b.error).toBeUndefined();
      const got = [...a.messages, ...b.messages];
      expect(got.map(toHex), `cut at ${cut}`).toEqual([toHex(msg)]);
    }
  });

  it('reassembles a stream fed one byte at a time', () => {
    const stream = concat(OPEN, KEEPALIVE, EOR, NOTIFICATION, KEEPALIVE);
    const f = new Framer();
    const got: string[] = [];
    for (let i = 0; i < stream.length; i++) {
      const r = f.push(stream.slice(i, i + 1));
      expect(r.error).toBeUndefined();
      got.push(...r.messages.map(toHex));
    }
    expect(got).toEqual([OPEN, KEEPALIVE, EOR, NOTIFICATION, KEEPALIVE].map(toHex));
  });

  it('messages handed out stay intact when later chunks arrive', () => {
    const f = new Framer();
    const first = f.push(concat(KEEPALIVE, OPEN.subarray(0, 10)));
    const kept = first.messages[0];
    f.push(OPEN.subarray(10));
    f.push(concat(EOR, EOR));
    expect(toHex(kept)).toBe(toHex(KEEPALIVE));
  });

  it('a bad marker is Connection Not Synchronized (1/1), as soon as the byte arrives', () => {
    const bad = KEEPALIVE.slice();
    bad[5] = 0xfe;
    const f = new Framer();
    const r = f.push(bad.subarray(0, 6)); // the header is not complete yet: still an error at once
    expectError(r.error, 'header.not-synchronized', [1, 1, '']);
    expect(r.error?.offset).toBe(5);
  });

  it('a bad marker after good messages reports the stream offset and keeps earlier messages', () => {
    const bad = KEEPALIVE.slice();
    bad[0] = 0;
    const f = new Framer();
    const r = f.push(concat(KEEPALIVE, OPEN, bad));
    expect(r.messages.map(toHex)).toEqual([KEEPALIVE, OPEN].map(toHex));
    expectError(r.error, 'header.not-synchronized', [1, 1, '']);
    expect(r.error?.offset).toBe(KEEPALIVE.length + OPEN.length);
  });

  it('stays failed after an error', () => {
    const f = new Framer();
    const first = f.push(fromHex(`${MARKER} 0012 04`));
    expect(first.error).toBeDefined();
    const again = f.push(KEEPALIVE);
    expect(again.messages).toEqual([]);
    expect(again.error).toBe(first.error);
  });

  it('a length below 19 is Bad Message Length (1/2) with the length field as data, without waiting', () => {
    for (const len of [0, 1, 18]) {
      const hdr = fromHex(`${MARKER} ${len.toString(16).padStart(4, '0')}`); // no type octet yet
      const r = new Framer().push(hdr);
      expectError(r.error, 'header.bad-length', [1, 2, len.toString(16).padStart(4, '0')]);
      expect(r.error?.offset).toBe(16);
    }
  });

  it('a length above 4096 is Bad Message Length; 4096 is accepted', () => {
    const r = new Framer().push(fromHex(`${MARKER} 1001 02`));
    expectError(r.error, 'header.bad-length', [1, 2, '1001']);

    const max = message(2, 4096 - 19);
    const ok = new Framer().push(max);
    expect(ok.error).toBeUndefined();
    expect(ok.messages.length).toBe(1);
    expect(ok.messages[0].length).toBe(4096);
  });

  it('65535 is accepted only after enableExtendedMessages (RFC 8654)', () => {
    const big = message(2, 65535 - 19);
    const before = new Framer().push(big);
    expectError(before.error, 'header.bad-length', [1, 2, 'ffff']);
    expect(before.messages).toEqual([]);

    const f = new Framer();
    f.enableExtendedMessages();
    const after = f.push(big);
    expect(after.error).toBeUndefined();
    expect(after.messages.map((m) => m.length)).toEqual([65535]);
  });

  it('an unknown type is Bad Message Type (1/3) with the type octet as data', () => {
    for (const type of [0, 6, 255]) {
      const r = new Framer().push(message(type, 4));
      expectError(r.error, 'header.bad-type', [1, 3, type.toString(16).padStart(2, '0')]);
      expect(r.error?.offset).toBe(18);
    }
  });

  it('a KEEPALIVE whose length is not 19 is Bad Message Length', () => {
    const r = new Framer().push(message(4, 1));
    expectError(r.error, 'header.bad-length', [1, 2, '0014']);
  });

  it('a length too small for the message type is Bad Message Length', () => {
    const cases: [number, number][] = [
      [1, 28], // OPEN: at least 29
      [2, 22], // UPDATE: at least 23
      [3, 20], // NOTIFICATION: at least 21
      [5, 22], // ROUTE-REFRESH: at least 23
    ];
    for (const [type, len] of cases) {
      const r = new Framer().push(message(type, len - 19));
      expectError(r.error, 'header.bad-length', [1, 2, len.toString(16).padStart(4, '0')]);
    }
  });
});

describe('frameAt', () => {
  it('says how many more octets it needs', () => {
    expect(frameAt(OPEN, 0, 10)).toEqual({ kind: 'need-more', need: 9 });
    expect(frameAt(OPEN, 0, 19)).toEqual({ kind: 'need-more', need: OPEN.length - 19 });
    expect(frameAt(OPEN, 0, OPEN.length)).toEqual({ kind: 'frame', type: 1, length: OPEN.length });
  });

  it('frames at an offset inside a larger buffer', () => {
    const buf = concat(KEEPALIVE, EOR);
    expect(frameAt(buf, KEEPALIVE.length, buf.length)).toEqual({ kind: 'frame', type: 2, length: EOR.length });
  });
});

/**
 * Byte mutations of a whole BGP message: bit flips, interesting values, truncation, insertion,
 * header damage. The length field is made to agree with the new size most of the time, so the
 * body decoders (not only the framer) see the damage.
 */
import type { Rng } from './rng.js';

const INTERESTING = [0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40, 0xc0, 0xe0, 32, 33, 128, 129];

export function mutate(rng: Rng, src: Uint8Array): Uint8Array {
  let b = src.slice();
  const n = 1 + rng.int(4);
  for (let k = 0; k < n; k++) {
    const op = rng.int(7);
    const at = 19 + rng.int(Math.max(1, b.length - 19)); // keep the marker mostly intact: reach the body decoders
    if (op === 0) b[at] ^= 1 << rng.int(8);
    else if (op === 1) b[at] = rng.pick(INTERESTING);
    else if (op === 2) b[at] = rng.int(256);
    else if (op === 3) b = b.slice(0, Math.max(19, at)); // truncate (length field now lies)
    else if (op === 4) {
      const ins = rng.bytes(1 + rng.int(8));
      const c = new Uint8Array(b.length + ins.length);
      c.set(b.subarray(0, at));
      c.set(ins, at);
      c.set(b.subarray(at), at + ins.length);
      b = c;
    } else if (op === 5 && b.length > 21) {
      // Make the header length agree with the new size (so the body decoder, not the framer, sees it).
      b[16] = b.length >>> 8;
      b[17] = b.length & 255;
    } else if (op === 6) b[rng.int(Math.min(b.length, 19))] = rng.int(256); // header damage
  }
  if (rng.chance(0.7) && b.length >= 19) {
    b[16] = (b.length >>> 8) & 255;
    b[17] = b.length & 255;
  }
  return b;
}

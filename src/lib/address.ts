/**
 * Addresses in the forms the hot path uses: IPv4 as an unsigned 32-bit number, IPv6 as 16 bytes,
 * both printable in their canonical text (dotted quad; RFC 5952 for IPv6).
 */

export function ipv4ToNumber(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${JSON.stringify(text)}`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) throw new Error(`not an IPv4 address: ${JSON.stringify(text)}`);
    const v = Number(p);
    if (v > 255) throw new Error(`not an IPv4 address: ${JSON.stringify(text)}`);
    n = n * 256 + v;
  }
  return n;
}

export function numberToIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function isIpv4(text: string): boolean {
  try {
    ipv4ToNumber(text);
    return true;
  } catch {
    return false;
  }
}

/** Parses IPv6 text (with optional embedded IPv4 tail) into 16 bytes. */
export function ipv6ToBytes(text: string): Uint8Array {
  const out = new Uint8Array(16);
  if (!parseIpv6Into(text, 0, text.length, out, 0)) throw new Error(`not an IPv6 address: ${JSON.stringify(text)}`);
  return out;
}

// The value of each ASCII hex digit (either case) by character code; -1 for any other character.
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let c = 0; c < 128; c++) {
  if (c >= 48 && c <= 57) HEX_VALUE[c] = c - 48;
  else if (c >= 97 && c <= 102) HEX_VALUE[c] = c - 87;
  else if (c >= 65 && c <= 70) HEX_VALUE[c] = c - 55;
}

/**
 * Parses the IPv6 text text[start, end) into the 16 bytes out[o, o + 16) in one pass, without
 * allocating. Returns false (out partly written) when the text is not an address.
 *
 * Accepts 8 groups of 1-4 hex digits (either case) separated by ':', or fewer with one '::'
 * standing for at least one zero group (RFC 4291 2.2), the last two groups optionally written as
 * a dotted quad of 1-3 digit decimals <= 255 after a ':' (RFC 4291 2.2 form 3). Nothing else:
 * no zone, no spaces, no brackets.
 */
export function parseIpv6Into(text: string, start: number, end: number, out: Uint8Array, o: number): boolean {
  let i = start;
  let w = 0; // address octets written
  let gap = -1; // octet index of the '::'
  if (end - start >= 2 && text.charCodeAt(i) === 58 && text.charCodeAt(i + 1) === 58) {
    gap = 0;
    i += 2;
  }
  while (i < end) {
    // One field at i: a hex group, or the dotted-quad tail.
    let j = i;
    let v = 0;
    for (; j < end; j++) {
      const c = text.charCodeAt(j);
      const d = c < 128 ? HEX_VALUE[c] : -1;
      if (d < 0) break;
      v = (v << 4) | d;
    }
    if (j < end && text.charCodeAt(j) === 46) {
      // '.': the field must be a dotted quad that ends the text, after a ':'.
      if (i === start || w > 12) return false;
      j = i;
      for (let part = 0; part < 4; part++) {
        if (part > 0) {
          if (j >= end || text.charCodeAt(j) !== 46) return false;
          j++;
        }
        const from = j;
        let n = 0;
        for (; j < end && j - from < 4; j++) {
          const c = text.charCodeAt(j);
          if (c < 48 || c > 57) break;
          n = n * 10 + c - 48;
        }
        if (j === from || j - from > 3 || n > 255) return false;
        out[o + w++] = n;
      }
      if (j !== end) return false;
      i = end;
      break;
    }
    if (j === i || j - i > 4 || w === 16) return false;
    out[o + w] = v >>> 8;
    out[o + w + 1] = v & 255;
    w += 2;
    if (j === end) break;
    if (text.charCodeAt(j) !== 58) return false;
    j++;
    if (j < end && text.charCodeAt(j) === 58) {
      if (gap >= 0) return false;
      gap = w;
      j++;
    } else if (j === end) {
      return false; // a trailing single ':'
    }
    i = j;
  }
  if (gap < 0) return w === 16;
  // '::' stands for at least one zero group: move the groups after it to the end.
  if (w > 14) return false;
  const shift = 16 - w;
  for (let k = w - 1; k >= gap; k--) out[o + k + shift] = out[o + k];
  for (let k = gap; k < gap + shift; k++) out[o + k] = 0;
  return true;
}

// Group text by value ("0".."ffff"), filled on first use: a string per group without toString.
const GROUP_TEXT: (string | undefined)[] = new Array<string | undefined>(65536);

function groupText(b: Uint8Array, at: number): string {
  const g = (b[at] << 8) | b[at + 1];
  return GROUP_TEXT[g] ?? (GROUP_TEXT[g] = g.toString(16));
}

/**
 * RFC 5952 text of the 16 bytes at b[offset]: lower case, leading zeros dropped (4.1), the
 * longest run of two or more zero groups as '::', the first of equal runs (4.2.1-4.2.3; a single
 * zero group stays "0"), and IPv4-mapped addresses with the dotted quad (5).
 */
export function bytesToIpv6(b: Uint8Array, offset = 0): string {
  // RFC 5952 5: IPv4-mapped addresses keep the dotted quad ("::ffff:10.0.0.1").
  let mapped = b[offset + 10] === 0xff && b[offset + 11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) mapped = b[offset + i] === 0;
  if (mapped) return `::ffff:${b[offset + 12]}.${b[offset + 13]}.${b[offset + 14]}.${b[offset + 15]}`;
  // The longest run of zero groups, the first of equal runs; only a run of 2 or more counts.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if ((b[offset + 2 * i] | b[offset + 2 * i + 1]) !== 0) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < 8 && (b[offset + 2 * j] | b[offset + 2 * j + 1]) === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) {
    let s = groupText(b, offset);
    for (let i = 1; i < 8; i++) s += ':' + groupText(b, offset + 2 * i);
    return s;
  }
  let s = bestStart === 0 ? '' : groupText(b, offset);
  for (let i = 1; i < bestStart; i++) s += ':' + groupText(b, offset + 2 * i);
  s += '::';
  const after = bestStart + bestLen;
  if (after === 8) return s;
  s += groupText(b, offset + 2 * after);
  for (let i = after + 1; i < 8; i++) s += ':' + groupText(b, offset + 2 * i);
  return s;
}

const isIpv6Scratch = new Uint8Array(16);

export function isIpv6(text: string): boolean {
  return parseIpv6Into(text, 0, text.length, isIpv6Scratch, 0);
}

/** The IPv4-mapped IPv6 address of an IPv4 address (RFC 4291 2.5.5.2): "::ffff:10.0.1.11". */
export function ipv4Mapped(v4: string): string {
  return `::ffff:${numberToIpv4(ipv4ToNumber(v4))}`;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (any spelling), else undefined. */
export function unmapIpv4(text: string): string | undefined {
  if (!text.includes(':')) return undefined;
  const b = new Uint8Array(16);
  if (!parseIpv6Into(text, 0, text.length, b, 0)) return undefined;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return undefined;
  if (b[10] !== 0xff || b[11] !== 0xff) return undefined;
  return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
}

/** The canonical text of an address (RFC 5952 for IPv6); IPv4-mapped addresses as plain IPv4. */
export function canonicalAddress(text: string): string {
  if (isIpv4(text)) return numberToIpv4(ipv4ToNumber(text));
  return unmapIpv4(text) ?? bytesToIpv6(ipv6ToBytes(text));
}

/** fe80::/10: an IPv6 link-local address (meaningful only with its device). */
export function isLinkLocal(text: string): boolean {
  if (!text.includes(':')) return false;
  const b = new Uint8Array(16);
  return parseIpv6Into(text, 0, text.length, b, 0) && b[0] === 0xfe && (b[1] & 0xc0) === 0x80;
}

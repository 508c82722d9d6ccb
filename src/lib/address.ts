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
  const bad = () => new Error(`not an IPv6 address: ${JSON.stringify(text)}`);
  let s = text;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.indexOf('.', lastColon) > 0) {
    // An embedded IPv4 tail ("::ffff:10.0.0.1") becomes two hex groups.
    const v4 = ipv4ToNumberOr(s.slice(lastColon + 1));
    if (v4 === undefined) throw bad();
    s = `${s.slice(0, lastColon + 1)}${((v4 >>> 16) & 0xffff).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) throw bad();
  const parse = (h: string): number[] =>
    h === ''
      ? []
      : h.split(':').map((g) => {
          if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
          return parseInt(g, 16);
        });
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  if (halves.length === 2 && head.length + rest.length > 7) throw bad();
  const groups = halves.length === 2 ? [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest] : head;
  if (groups.length !== 8) throw bad();
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 255;
  });
  return out;
}

function ipv4ToNumberOr(text: string): number | undefined {
  try {
    return ipv4ToNumber(text);
  } catch {
    return undefined;
  }
}

/** RFC 5952 text: lower case, leading zeros dropped, the longest run (>= 2) of zero groups as '::'. */
export function bytesToIpv6(b: Uint8Array, offset = 0): string {
  // RFC 5952 5: IPv4-mapped addresses keep the dotted quad ("::ffff:10.0.0.1").
  let mapped = b[offset + 10] === 0xff && b[offset + 11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) mapped = b[offset + i] === 0;
  if (mapped) return `::ffff:${b[offset + 12]}.${b[offset + 13]}.${b[offset + 14]}.${b[offset + 15]}`;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[offset + i * 2] << 8) | b[offset + i * 2 + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return g.map((x) => x.toString(16)).join(':');
  const left = g.slice(0, bestStart).map((x) => x.toString(16)).join(':');
  const right = g.slice(bestStart + bestLen).map((x) => x.toString(16)).join(':');
  return `${left}::${right}`;
}

export function isIpv6(text: string): boolean {
  try {
    ipv6ToBytes(text);
    return true;
  } catch {
    return false;
  }
}

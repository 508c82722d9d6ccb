/**
 * Conformance of the codec on real bytes: every proto-fixtures/*.json (one BGP message that BIRD
 * 2, FRR 8.4 or GoBGP sent on a real session, recorded by labs/capture) must
 *  1. decode to its "expected" JSON (written by `npx tsx labs/capture/expect.ts`),
 *  2. re-encode byte for byte,
 *  3. come out of the Framer whole however the stream is cut,
 *  4. agree with an independent decoder: the fields tshark's BGP dissector printed for it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { bytesEqual, fromHex, toHex } from '../../src/lib/hex.js';
import { formatPrefix, prefixLength, type Prefix } from '../../src/lib/prefix.js';
import { Framer } from '../../src/wire/framer.js';
import { decodeMessage, encodeMessage, messageToJson } from '../../src/wire/message.js';
import type { BgpMessage, Capability, OpenMessage, PathAttribute, UpdateMessage, WireOptions } from '../../src/wire/types.js';

const DIR = join(import.meta.dirname, '..', '..', 'proto-fixtures');

type TsharkFields = Record<string, string | string[]>;
interface Fixture {
  file: string;
  description: string;
  options: { fourOctetAs: boolean; extendedMessage: boolean; addPath: string[] };
  hex: string;
  tshark: TsharkFields;
  expected: unknown;
}

const fixtures: Fixture[] = readdirSync(DIR)
  .filter((n) => n.endsWith('.json'))
  .sort()
  .map((file) => ({ file, ...(JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Omit<Fixture, 'file'>) }));

const wireOptions = (fx: Fixture): WireOptions => ({ ...fx.options, addPath: new Set(fx.options.addPath) });

function framer(fx: Fixture): Framer {
  const f = new Framer();
  if (fx.options.extendedMessage) f.enableExtendedMessages();
  return f;
}

/** Pushes the chunks through a fresh Framer; fails on a framing error. */
function frameAll(fx: Fixture, chunks: Uint8Array[]): Uint8Array[] {
  const f = framer(fx);
  const out: Uint8Array[] = [];
  for (const c of chunks) {
    const r = f.push(c);
    expect(r.error).toBeUndefined();
    for (const m of r.messages) out.push(m.slice());
  }
  expect(f.pending).toBe(0);
  return out;
}

// ---------------------------------------------------------------- the tshark oracle

// Code points written out here from the IANA registries, not taken from src/wire/iana.ts, so a
// wrong code point in the codec cannot cancel itself out in the comparison.
const MESSAGE_CODE = { open: 1, update: 2, notification: 3, keepalive: 4, 'route-refresh': 5 } as const;
const ATTR_CODE: Record<Exclude<PathAttribute['type'], 'unknown'>, number> = {
  origin: 1, 'as-path': 2, 'next-hop': 3, med: 4, 'local-pref': 5, 'atomic-aggregate': 6, aggregator: 7,
  communities: 8, 'originator-id': 9, 'cluster-list': 10, 'mp-reach': 14, 'mp-unreach': 15,
  'ext-communities': 16, 'as4-path': 17, 'as4-aggregator': 18, 'tunnel-encap': 23, 'large-communities': 32,
}; // prettier-ignore
const CAP_CODE: Record<Exclude<Capability['type'], 'unknown'>, number> = {
  multiprotocol: 1, 'route-refresh': 2, 'extended-next-hop': 5, 'extended-message': 6, 'graceful-restart': 64,
  'four-octet-as': 65, 'add-path': 69, 'enhanced-route-refresh': 70, fqdn: 73, 'route-refresh-old': 128,
}; // prettier-ignore
const SEGMENT_CODE = { set: 1, sequence: 2, 'confed-sequence': 3, 'confed-set': 4 } as const;

const attrCode = (a: PathAttribute): number => (a.type === 'unknown' ? a.code : ATTR_CODE[a.type]);
const capCode = (c: Capability): number => (c.type === 'unknown' ? c.code : CAP_CODE[c.type]);
const addr = (p: Prefix): string => formatPrefix(p).split('/')[0];

/**
 * tshark fields that are read but deliberately not compared, and why. Every other field in every
 * fixture must be compared: the test fails on a field nobody looked at.
 */
const NOT_COMPARED: Record<string, string> = {
  'bgp.open.opt.len': 'a length: covered by the byte-identical re-encode',
  'bgp.open.opt.param.len': 'a length: covered by the byte-identical re-encode',
  'bgp.cap.length': 'a length: covered by the byte-identical re-encode',
  'bgp.cap.orf.fqdn.hostname.len': 'a length: covered by the byte-identical re-encode',
  'bgp.cap.orf.fqdn.domain_name.len': 'a length: covered by the byte-identical re-encode',
  'bgp.update.withdrawn_routes.length': 'a length: covered by the byte-identical re-encode',
  'bgp.update.path_attributes.length': 'a length: covered by the byte-identical re-encode',
  'bgp.update.path_attribute.length': 'a length: covered by the byte-identical re-encode',
  'bgp.cap.gr.timers': 'flags and time packed in one number; compared as restart_flag, notification_flag, restart_time',
  'bgp.cap.gr.helper_mode_only': "tshark's label for a GR capability without families (an empty tree item)",
  'bgp.cap.gr.flag.pfs': 'a bit of bgp.cap.gr.flag, which is compared',
  'bgp.update.path_attribute.flags.optional': 'a bit of the flags octet, which is compared',
  'bgp.update.path_attribute.flags.transitive': 'a bit of the flags octet, which is compared',
  'bgp.update.path_attribute.flags.partial': 'a bit of the flags octet, which is compared',
  'bgp.update.path_attribute.flags.extended_length': 'a bit of the flags octet, which is compared',
  'bgp.update.path_attribute.flags.unused': 'bits of the flags octet, which is compared',
  'bgp.ext_com.type.auth': 'a bit of bgp.ext_com.type, which is compared',
  'bgp.ext_com.type.tran': 'a bit of bgp.ext_com.type, which is compared',
  'bgp.large_communities': "tshark's tree label ('[ Null ]'); the values are in .ga/.ldp1/.ldp2",
  'bgp.update.path_attribute.mp_unreach_nlri': 'an empty tree item (End-of-RIB); afi/safi and prefixes are compared',
  'bgp.update.path_attribute.mp_reach_nlri.next_hop':
    'the raw next hop field (length + bytes); its addresses are compared as next_hop.ipv6 / .link_local',
};

interface OracleResult {
  compared: number;
  mismatches: string[];
  skipped: string[];
}

/** Compares one decoded message with tshark's fields; normalises single values and lists. */
class Oracle {
  compared = 0;
  mismatches: string[] = [];
  skipped: string[] = [];
  private used = new Set<string>();

  constructor(private readonly t: TsharkFields) {}

  /** A field as a list in wire order: absent -> [], one occurrence -> [v]. */
  all(key: string): string[] {
    this.used.add(key);
    const v = this.t[key];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  }

  /** tshark's values of `key` against ours: as numbers (0x.. or decimal), text, or bytes ("0a:0b" = "0a0b"). */
  eq(key: string, ours: (string | number)[], as: 'num' | 'text' | 'hex' = 'num'): void {
    const norm = (s: string | number) =>
      as === 'num' ? String(Number(s)) : as === 'hex' ? String(s).replace(/:/g, '').toLowerCase() : String(s);
    const theirs = this.all(key).map(norm);
    const mine = ours.map(norm);
    if (!isDeepStrictEqual(theirs, mine)) this.mismatches.push(`${key}: tshark ${JSON.stringify(theirs)}, weft ${JSON.stringify(mine)}`);
    this.compared += Math.max(theirs.length, mine.length);
  }

  /** A comparison left out on purpose (tshark guessed differently from the negotiated options). */
  skip(key: string, why: string): void {
    this.all(key);
    this.skipped.push(`${key}: ${why}`);
  }

  result(): OracleResult {
    for (const key of Object.keys(this.t)) {
      if (!this.used.has(key) && NOT_COMPARED[key] === undefined) this.mismatches.push(`${key}: tshark shows it, nothing compares it`);
    }
    return { compared: this.compared, mismatches: this.mismatches, skipped: this.skipped };
  }
}

function checkOpen(o: Oracle, m: OpenMessage): void {
  o.eq('bgp.open.version', [m.version]);
  o.eq('bgp.open.myas', [m.myAs]);
  o.eq('bgp.open.holdtime', [m.holdTime]);
  o.eq('bgp.open.identifier', [m.bgpId], 'text');
  o.eq('bgp.open.opt.param.type', m.params.map((p) => (p.type === 'capabilities' ? 2 : p.code)));
  const caps = m.params.flatMap((p) => (p.type === 'capabilities' ? p.capabilities : []));
  const of = <T extends Capability['type']>(t: T) => caps.filter((c): c is Extract<Capability, { type: T }> => c.type === t);
  o.eq('bgp.cap.type', caps.map(capCode));
  o.eq('bgp.cap.4as', of('four-octet-as').map((c) => c.asn));
  const mp = of('multiprotocol');
  o.eq('bgp.cap.mp.afi', mp.map((c) => c.afi));
  o.eq('bgp.cap.mp.safi', mp.map((c) => c.safi));
  o.eq('bgp.cap.reserved', mp.map(() => 0)); // RFC 4760 8: the reserved octet; the codec writes 0
  const ap = of('add-path').flatMap((c) => c.families);
  o.eq('bgp.cap.ap.afi', ap.map((f) => f.afi));
  o.eq('bgp.cap.ap.safi', ap.map((f) => f.safi));
  o.eq('bgp.cap.ap.sendreceive', ap.map((f) => f.sendReceive));
  const enh = of('extended-next-hop').flatMap((c) => c.entries);
  o.eq('bgp.cap.enh.afi', enh.map((e) => e.afi));
  o.eq('bgp.cap.enh.safi', enh.map((e) => e.safi));
  o.eq('bgp.cap.enh.nhafi', enh.map((e) => e.nextHopAfi));
  const gr = of('graceful-restart');
  o.eq('bgp.cap.gr.timers.restart_time', gr.map((c) => c.time));
  o.eq('bgp.cap.gr.timers.restart_flag', gr.map((c) => (c.flags >> 3) & 1)); // RFC 4724 3: R
  o.eq('bgp.cap.gr.timers.notification_flag', gr.map((c) => (c.flags >> 2) & 1)); // RFC 8538 2: N
  const grf = gr.flatMap((c) => c.families);
  o.eq('bgp.cap.gr.afi', grf.map((f) => f.afi));
  o.eq('bgp.cap.gr.safi', grf.map((f) => f.safi));
  o.eq('bgp.cap.gr.flag', grf.map((f) => f.flags));
  const fqdn = of('fqdn');
  o.eq('bgp.cap.orf.fqdn.hostname', fqdn.map((c) => c.hostname), 'text');
  o.eq('bgp.cap.orf.fqdn.domain_name', fqdn.map((c) => c.domain), 'text');
  // tshark prints the data of a capability it does not know as "00:01:..." (nothing when empty).
  o.eq('bgp.cap.unknown', of('unknown').filter((c) => c.data.length > 0).map((c) => toHex(c.data)), 'hex');
}

function checkUpdate(o: Oracle, m: UpdateMessage, fx: Fixture): void {
  const attrs = m.attributes;
  const of = <T extends PathAttribute['type']>(t: T) => attrs.filter((a): a is Extract<PathAttribute, { type: T }> => a.type === t);
  o.eq('bgp.update.path_attribute.type_code', attrs.map(attrCode));
  o.eq('bgp.update.path_attribute.flags', attrs.map((a) => a.flags));

  // Prefixes: tshark has one bgp.prefix_length list in wire order: withdrawn routes, then the
  // MP_REACH / MP_UNREACH prefixes in attribute order, then the NLRI.
  const mpPrefixes = attrs.flatMap((a) => (a.type === 'mp-reach' ? a.reach.nlri : a.type === 'mp-unreach' ? a.unreach.withdrawn : []));
  o.eq('bgp.prefix_length', [...m.withdrawn, ...mpPrefixes, ...m.nlri].map(prefixLength));
  o.eq('bgp.withdrawn_prefix', m.withdrawn.map(addr), 'text');
  o.eq('bgp.nlri_prefix', m.nlri.map(addr), 'text');
  const reach = of('mp-reach').map((a) => a.reach);
  const unreach = of('mp-unreach').map((a) => a.unreach);
  o.eq('bgp.mp_reach_nlri_ipv6_prefix', reach.filter((r) => r.afi === 2).flatMap((r) => r.nlri.map(addr)), 'text');
  o.eq('bgp.mp_unreach_nlri_ipv6_prefix', unreach.filter((u) => u.afi === 2).flatMap((u) => u.withdrawn.map(addr)), 'text');
  o.eq('bgp.update.path_attribute.mp_reach_nlri.afi', reach.map((r) => r.afi));
  o.eq('bgp.update.path_attribute.mp_reach_nlri.safi', reach.map((r) => r.safi));
  o.eq('bgp.update.path_attribute.mp_reach_nlri.nbr_snpa', reach.map((r) => r.reserved ?? 0));
  const v6hops = reach.filter((r) => r.afi === 2);
  o.eq('bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6', v6hops.map((r) => r.nextHop[0]), 'text');
  o.eq('bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6.link_local', v6hops.flatMap((r) => r.nextHop.slice(1)), 'text');
  o.eq('bgp.update.path_attribute.mp_unreach_nlri.afi', unreach.map((u) => u.afi));
  o.eq('bgp.update.path_attribute.mp_unreach_nlri.safi', unreach.map((u) => u.safi));

  // RFC 7911 path identifiers, in wire order. tshark guesses ADD-PATH per message; the
  // fixture's options say what was negotiated, so a disagreement is tshark's guess, skipped.
  const ids = [
    ...(m.withdrawnPathIds ?? []),
    ...reach.flatMap((r) => r.pathIds ?? []),
    ...unreach.flatMap((u) => u.pathIds ?? []),
    ...(m.nlriPathIds ?? []),
  ];
  const tsharkIds = o.all('bgp.nlri_path_id');
  if ((ids.length > 0) !== (tsharkIds.length > 0)) {
    o.skip('bgp.nlri_path_id', `tshark guessed ADD-PATH ${tsharkIds.length > 0 ? 'on' : 'off'}; options.addPath = ${JSON.stringify(fx.options.addPath)}`);
  } else o.eq('bgp.nlri_path_id', ids);

  o.eq('bgp.update.path_attribute.origin', of('origin').map((a) => a.origin));
  o.eq('bgp.update.path_attribute.next_hop', of('next-hop').map((a) => a.nextHop), 'text');
  o.eq('bgp.update.path_attribute.multi_exit_disc', of('med').map((a) => a.med));
  o.eq('bgp.update.path_attribute.local_pref', of('local-pref').map((a) => a.localPref));
  o.eq('bgp.update.path_attribute.originator_id', of('originator-id').map((a) => a.originatorId), 'text');
  o.eq('bgp.path_attribute.cluster_id', of('cluster-list').flatMap((a) => a.clusterIds), 'text');

  // AS_PATH and AS4_PATH segments share tshark's segment fields, in attribute order.
  const paths = attrs.filter((a) => a.type === 'as-path' || a.type === 'as4-path');
  const segs = paths.flatMap((a) => a.segments);
  o.eq('bgp.update.path_attribute.as_path_segment.type', segs.map((s) => SEGMENT_CODE[s.kind]));
  o.eq('bgp.update.path_attribute.as_path_segment.length', segs.map((s) => s.asns.length));
  // RFC 6793: AS_PATH holds 4-octet ASNs iff both sides sent capability 65; AS4_PATH always does.
  const asPath = of('as-path').flatMap((a) => a.segments.flatMap((s) => s.asns));
  const as4Path = of('as4-path').flatMap((a) => a.segments.flatMap((s) => s.asns));
  const wantAs2 = fx.options.fourOctetAs ? [] : asPath;
  const wantAs4 = fx.options.fourOctetAs ? [...asPath, ...as4Path] : as4Path;
  const gotAs2 = o.all('bgp.update.path_attribute.as_path_segment.as2');
  if (asPath.length > 0 && (gotAs2.length > 0) !== !fx.options.fourOctetAs) {
    // tshark guesses the AS width per message; the options are what the OPENs negotiated.
    const why = `tshark guessed ${gotAs2.length > 0 ? '2' : '4'}-octet ASNs; options.fourOctetAs = ${fx.options.fourOctetAs}`;
    o.skip('bgp.update.path_attribute.as_path_segment.as2', why);
    o.skip('bgp.update.path_attribute.as_path_segment.as4', 'see as2');
  } else {
    o.eq('bgp.update.path_attribute.as_path_segment.as2', wantAs2);
    o.eq('bgp.update.path_attribute.as_path_segment.as4', wantAs4);
  }
  // AGGREGATOR (2 or 4-octet by its length) and AS4_AGGREGATOR share tshark's fields.
  const aggs = attrs.filter((a) => a.type === 'aggregator' || a.type === 'as4-aggregator');
  o.eq('bgp.update.path_attribute.aggregator_as', aggs.map((a) => a.asn));
  o.eq('bgp.update.path_attribute.aggregator_origin', aggs.map((a) => a.address), 'text');

  // RFC 1997: tshark prints 0x0000xxxx and 0xFFFFxxxx (the reserved ranges) as well-known values.
  const comms = of('communities').flatMap((a) => a.communities);
  const wellKnown = (c: number) => c >>> 16 === 0 || c >>> 16 === 0xffff;
  o.eq('bgp.update.path_attribute.community_wellknown', comms.filter(wellKnown));
  o.eq('bgp.update.path_attribute.community_as', comms.filter((c) => !wellKnown(c)).map((c) => c >>> 16));
  o.eq('bgp.update.path_attribute.community_value', comms.filter((c) => !wellKnown(c)).map((c) => c & 0xffff));
  const large = of('large-communities').flatMap((a) => a.communities);
  o.eq('bgp.large_communities.ga', large.map((c) => c[0]));
  o.eq('bgp.large_communities.ldp1', large.map((c) => c[1]));
  o.eq('bgp.large_communities.ldp2', large.map((c) => c[2]));

  // RFC 4360 4: two-octet-AS specific route target (type 0x00, subtype 0x02) / route origin (0x03).
  const ext = of('ext-communities').flatMap((a) => a.communities);
  const as2Specific = ext.filter(
    (c) => (c.type === 'route-target' || c.type === 'route-origin') && typeof c.global === 'number' && c.global <= 0xffff,
  );
  // Other kinds would show other tshark fields, which the "nothing compares it" check catches.
  if (as2Specific.length !== ext.length) o.skip('bgp.ext_com.type', 'only two-octet-AS route targets / origins are compared');
  else o.eq('bgp.ext_com.type', ext.map(() => 0));
  o.eq('bgp.ext_com.stype_tr_as2', as2Specific.map((c) => (c.type === 'route-target' ? 2 : 3)));
  o.eq('bgp.ext_com.value_as2', as2Specific.map((c) => ('global' in c ? Number(c.global) : -1)));
  o.eq('bgp.ext_com.value_an4', as2Specific.map((c) => ('local' in c ? c.local : -1)));
}

function oracle(fx: Fixture, m: BgpMessage): OracleResult {
  const o = new Oracle(fx.tshark);
  o.eq('bgp.type', [MESSAGE_CODE[m.type]]);
  o.eq('bgp.length', [fx.hex.length / 2]);
  switch (m.type) {
    case 'open':
      checkOpen(o, m);
      break;
    case 'update':
      checkUpdate(o, m, fx);
      break;
    case 'notification': {
      o.eq('bgp.notify.major_error', [m.code]);
      const minor = Object.keys(fx.tshark).filter((k) => k.startsWith('bgp.notify.minor_error'));
      expect(minor, `${fx.file}: one minor error code field`).toHaveLength(1);
      o.eq(minor[0], [m.subcode]);
      // RFC 9003 2: length octet, then the UTF-8 text.
      o.eq('bgp.notify.communication', m.shutdownMessage === undefined ? [] : [m.shutdownMessage], 'text');
      o.eq('bgp.notify.communication_length', m.shutdownMessage === undefined ? [] : [m.data[0]]);
      // RFC 4271 6.2 Bad Peer AS: tshark reads the data as an AS number.
      const dv = new DataView(m.data.buffer, m.data.byteOffset, m.data.byteLength);
      const badAs = m.code === 2 && m.subcode === 2 ? [m.data.length === 4 ? dv.getUint32(0) : dv.getUint16(0)] : [];
      o.eq('bgp.notify.error_open.bad_peer_as', badAs);
      break;
    }
    case 'route-refresh':
      o.eq('bgp.route_refresh.afi', [m.afi]);
      o.eq('bgp.route_refresh.safi', [m.safi]);
      o.eq('bgp.route_refresh.subtype', [m.subtype]);
      break;
    case 'keepalive':
      break;
  }
  return o.result();
}

// ---------------------------------------------------------------- the tests

describe('proto-fixtures: real BGP messages from BIRD, FRR and GoBGP', () => {
  it('are there', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(60);
  });

  it.each(fixtures.map((fx) => [fx.file, fx] as const))('%s', (file, fx) => {
    const bytes = fromHex(fx.hex);
    const opts = wireOptions(fx);
    // 1. The expected decode (labs/capture/expect.ts writes it).
    expect(fx.expected, `${file} has no "expected": run npx tsx labs/capture/expect.ts`).toBeDefined();
    const m = decodeMessage(bytes, opts);
    expect(messageToJson(m)).toEqual(fx.expected);
    if (m.type === 'update') expect(m.problems ?? [], 'RFC 7606 problems in a real daemon message').toEqual([]);
    // 2. Byte-identical re-encode.
    expect(toHex(encodeMessage(m, opts))).toBe(fx.hex);
    // 3. Framing: two chunks cut at every offset, and one byte at a time.
    for (let cut = 0; cut <= bytes.length; cut++) {
      const got = frameAll(fx, [bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(got.length, `cut at ${cut}`).toBe(1);
      expect(bytesEqual(got[0], bytes), `cut at ${cut}`).toBe(true);
    }
    const single = frameAll(fx, Array.from(bytes, (b) => Uint8Array.of(b)));
    expect(single.map(toHex)).toEqual([fx.hex]);
    // 4. tshark's dissection agrees.
    const r = oracle(fx, m);
    expect(r.mismatches).toEqual([]);
    expect(r.compared).toBeGreaterThanOrEqual(2);
  });

  // All fixtures of the same options as one stream (the framer's limit depends on extendedMessage).
  const streams = new Map<string, Fixture[]>();
  for (const fx of fixtures) {
    const key = JSON.stringify(fx.options);
    streams.set(key, [...(streams.get(key) ?? []), fx]);
  }
  const streamCases = [...streams].map(([key, fxs]) => [key, fxs] as const);
  it.each(streamCases)('one stream of all fixtures with options %s, cut at every offset', (_key, fxs) => {
    const parts = fxs.map((fx) => fromHex(fx.hex));
    const stream = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (stream.set(p, at), at + p.length), 0);
    const want = fxs.map((fx) => fx.hex);
    for (let cut = 0; cut <= stream.length; cut++) {
      const got = frameAll(fxs[0], [stream.subarray(0, cut), stream.subarray(cut)]);
      if (got.length !== want.length || !got.every((g, i) => toHex(g) === want[i])) expect(got.map(toHex), `cut at ${cut}`).toEqual(want);
    }
    expect(frameAll(fxs[0], Array.from(stream, (b) => Uint8Array.of(b))).map(toHex)).toEqual(want);
  });

  it('agree with tshark on many fields, and cover every message type and the attributes we use', () => {
    let compared = 0;
    const skipped: string[] = [];
    const types = new Set<string>();
    const attrs = new Set<number>();
    const eor = new Set<string>();
    for (const fx of fixtures) {
      const m = decodeMessage(fromHex(fx.hex), wireOptions(fx));
      const r = oracle(fx, m);
      compared += r.compared;
      skipped.push(...r.skipped.map((s) => `${fx.file}: ${s}`));
      types.add(m.type);
      if (m.type !== 'update') continue;
      for (const a of m.attributes) attrs.add(attrCode(a));
      // RFC 4724 2: IPv4 End-of-RIB = empty UPDATE; other families: only an empty MP_UNREACH_NLRI.
      if (m.withdrawn.length === 0 && m.nlri.length === 0) {
        if (m.attributes.length === 0) eor.add('1/1');
        const [a] = m.attributes;
        if (m.attributes.length === 1 && a.type === 'mp-unreach' && a.unreach.withdrawn.length === 0) {
          eor.add(`${a.unreach.afi}/${a.unreach.safi}`);
        }
      }
    }
    const skips = skipped.map((s) => `\n  skipped ${s}`).join('');
    console.log(`wire-fixtures: ${compared} tshark fields compared over ${fixtures.length} fixtures; ${skipped.length} skipped${skips}`);
    expect(compared).toBeGreaterThanOrEqual(1000);
    expect([...types].sort()).toEqual(['keepalive', 'notification', 'open', 'route-refresh', 'update']);
    expect([...eor].sort()).toEqual(expect.arrayContaining(['1/1', '2/1']));
    // ORIGIN, AS_PATH, NEXT_HOP, MED, LOCAL_PREF, AGGREGATOR, COMMUNITIES, ORIGINATOR_ID, CLUSTER_LIST,
    // MP_REACH, MP_UNREACH, EXTENDED_COMMUNITIES, AS4_PATH, LARGE_COMMUNITY.
    expect([...attrs].sort((a, b) => a - b)).toEqual(expect.arrayContaining([1, 2, 3, 4, 5, 7, 8, 9, 10, 14, 15, 16, 17, 32]));
  });
});

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { captureStreams, inferSessionOptions } from '../../src/cli/decode.js';
import { main } from '../../src/cli/main.js';
import { frameRuns } from '../../src/cli/tcp-stream.js';
import { formatTable, isoTime, LineWriter, toJson, type CliIo } from '../../src/cli/output.js';
import { ipv4ToNumber } from '../../src/lib/address.js';
import { toHex } from '../../src/lib/hex.js';
import { v4Prefix } from '../../src/lib/prefix.js';
import { decodeMessage, encodeMessage, messageToJson } from '../../src/wire/message.js';
import { buildOpen } from '../../src/wire/open.js';
import type { Capability, UpdateMessage, WireOptions } from '../../src/wire/types.js';
import { Conversation, pcapFile, type Segment } from '../helpers/pcap-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-cli-decode-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;

function file(content: string | Uint8Array, ext = 'bin'): string {
  const p = join(dir, `in-${++fileNo}.${ext}`);
  writeFileSync(p, content);
  return p;
}

interface Result {
  status: number;
  out: string;
  err: string;
  lines: Record<string, unknown>[];
}

async function run(args: string[], stdin?: Uint8Array): Promise<Result> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    readStdin: async () => stdin ?? new Uint8Array(0),
    stdinIsTty: () => stdin === undefined,
  };
  const status = await main(args, io);
  // JSON lines are parsed; help text and --pretty output are left to the test.
  const lines = out
    .split('\n')
    .filter((l) => l.startsWith('{') && l.endsWith('}'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status, out, err, lines };
}

const V4: WireOptions = { fourOctetAs: true, extendedMessage: false, addPath: new Set() };
const KEEPALIVE = encodeMessage({ type: 'keepalive' });

function open(asn: number, caps: Capability[]): Uint8Array {
  return encodeMessage(buildOpen({ asn, holdTime: 90, bgpId: '10.0.0.9', capabilities: caps }));
}

function update(asns: number[], prefixes: [string, number][], opts: WireOptions, pathIds?: number[]): Uint8Array {
  const m: UpdateMessage = {
    type: 'update',
    withdrawn: [],
    attributes: [
      { type: 'origin', flags: 0x40, origin: 0 },
      { type: 'as-path', flags: 0x40, segments: [{ kind: 'sequence', asns }] },
      { type: 'next-hop', flags: 0x40, nextHop: '10.0.0.1' },
    ],
    nlri: prefixes.map(([a, l]) => v4Prefix(ipv4ToNumber(a), l)),
    nlriPathIds: pathIds,
  };
  return encodeMessage(m, opts);
}

function cat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

/** A line with no stack trace in it ("    at fn (file:line)"). */
function noStack(text: string): void {
  expect(text).not.toMatch(/^\s+at /m);
}

describe('weft decode: hex and raw input', () => {
  it('hex text with comments and separators: a KEEPALIVE and an OPEN', async () => {
    const o = open(64512, [{ type: 'four-octet-as', asn: 64512 }]);
    const hex = `# a keepalive\n${toHex(KEEPALIVE).replace(/(..)/g, '$1:')}\n\n# an open\n${toHex(o).replace(/(.{8})/g, '$1 ')} # trailing comment\n`;
    const r = await run(['decode', '--hex', file(hex, 'hex')]);
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    expect(r.lines).toEqual([
      { offset: 0, length: 19, type: 'keepalive' },
      expect.objectContaining({ offset: 19, length: o.length, type: 'open', version: 4, myAs: 64512, holdTime: 90, bgpId: '10.0.0.9' }),
    ]);
    // The same text is recognised as hex without --hex.
    expect((await run(['decode', file(hex, 'txt')])).lines).toEqual(r.lines);
  });

  it('a broken stream: exit 1, the messages before it printed, the error names the offset and the RFC error', async () => {
    const bad = KEEPALIVE.slice();
    bad[17] = 5; // length 5: RFC 4271 6.1 Bad Message Length
    const r = await run(['decode', '--hex', file(toHex(cat(KEEPALIVE, KEEPALIVE, bad, KEEPALIVE)))]);
    expect(r.status).toBe(1);
    expect(r.lines.map((l) => l.offset)).toEqual([0, 19]);
    expect(r.err).toMatch(/offset 38: header\.bad-length \(Message Header Error \/ Bad Message Length\)/);
    expect(r.err).toMatch(/at byte 54/);
    expect(r.err).toMatch(/framing is lost: the remaining 38 byte\(s\)/);
    noStack(r.err);
  });

  it('a message that frames but does not decode is reported, and the next one is decoded', async () => {
    const rr = encodeMessage({ type: 'route-refresh', afi: 1, safi: 1, subtype: 0 });
    const long = cat(rr, Uint8Array.of(0));
    long[17] = 24; // a ROUTE-REFRESH must be 23 octets (RFC 7313 5)
    const r = await run(['decode', '--raw', file(cat(KEEPALIVE, long, KEEPALIVE))]);
    expect(r.status).toBe(1);
    expect(r.lines.map((l) => [l.offset, l.type])).toEqual([
      [0, 'keepalive'],
      [43, 'keepalive'],
    ]);
    expect(r.err).toMatch(/offset 19: ROUTE-REFRESH of 24 bytes: route-refresh\.bad-length \(ROUTE-REFRESH Message Error \/ Invalid Message Length\)/);
    noStack(r.err);
  });

  it('a stream that ends inside a message is an error for a file', async () => {
    const r = await run(['decode', file(cat(KEEPALIVE, KEEPALIVE.subarray(0, 10)))]);
    expect(r.status).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.err).toMatch(/offset 19: the stream ends inside a message \(10 of 19 bytes\)/);
  });

  it("raw bytes from standard input with '-'", async () => {
    const r = await run(['decode', '-'], cat(KEEPALIVE, KEEPALIVE));
    expect(r.status).toBe(0);
    expect(r.lines).toEqual([
      { offset: 0, length: 19, type: 'keepalive' },
      { offset: 19, length: 19, type: 'keepalive' },
    ]);
  });

  it('AS number size: inferred from the OPEN, or forced', async () => {
    const two = { ...V4, fourOctetAs: false };
    const u = update([65001, 65002], [['10.1.0.0', 16]], two);
    // The OPEN lacks the 4-octet AS capability: AS_PATH has 2-octet numbers.
    const inferred = await run(['decode', file(cat(open(65001, []), u))]);
    expect(inferred.status).toBe(0);
    expect(inferred.lines[1].attributes).toContainEqual({ type: 'as-path', flags: 0x40, segments: [{ kind: 'sequence', asns: [65001, 65002] }] });
    expect(inferred.lines[1].nlri).toEqual(['10.1.0.0/16']);
    // Without an OPEN 4 octets are assumed; --two-octet-as says otherwise.
    const forced = await run(['decode', '--two-octet-as', file(u)]);
    expect(forced.lines[0].attributes).toContainEqual({ type: 'as-path', flags: 0x40, segments: [{ kind: 'sequence', asns: [65001, 65002] }] });
    const wrong = await run(['decode', file(u)]);
    expect(JSON.stringify(wrong.lines[0]?.attributes ?? wrong.err)).not.toContain('[65001,65002]');
  });

  it('extended messages (RFC 8654): inferred from the OPEN, or refused with --no-extended-message', async () => {
    const ext = { ...V4, extendedMessage: true };
    const prefixes = Array.from({ length: 1200 }, (_, i): [string, number] => [`10.${i >> 8}.${i & 255}.0`, 24]);
    const big = update([65001], prefixes, ext);
    expect(big.length).toBeGreaterThan(4096);
    const input = file(cat(open(65001, [{ type: 'four-octet-as', asn: 65001 }, { type: 'extended-message' }]), big));
    const r = await run(['decode', input]);
    expect(r.status).toBe(0);
    expect(r.lines[1]).toMatchObject({ type: 'update', length: big.length });
    expect((r.lines[1].nlri as string[]).length).toBe(1200);
    const refused = await run(['decode', '--no-extended-message', input]);
    expect(refused.status).toBe(1);
    expect(refused.err).toMatch(/header\.bad-length .*outside 19\.\.4096/);
  });

  it('the demo stream: OPEN, KEEPALIVE, UPDATE, NOTIFICATION with a shutdown communication', async () => {
    const demo = join(import.meta.dirname, '..', '..', 'proto-fixtures', 'demo.hex');
    const r = await run(['decode', '--hex', demo]);
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    expect(r.lines.map((l) => l.type)).toEqual(['open', 'keepalive', 'update', 'notification']);
    expect(r.lines[2].nlri).toEqual(['10.244.3.0/26', '10.244.7.0/24']);
    expect(r.lines[3]).toMatchObject({ code: 6, subcode: 2, shutdownMessage: 'weft demo: planned maintenance' });
    expect(readFileSync(demo, 'utf8')).toMatch(/^# /);
  });

  it('--pretty indents', async () => {
    const r = await run(['decode', '--pretty', file(KEEPALIVE)]);
    expect(r.out).toBe('{\n  "offset": 0,\n  "length": 19,\n  "type": "keepalive"\n}\n');
  });
});

describe('weft decode: captures', () => {
  const client = { ip: '10.0.0.1', port: 35123 };
  const server = { ip: '10.0.0.2', port: 179 };
  const caps: Capability[] = [
    { type: 'multiprotocol', afi: 1, safi: 1 },
    { type: 'four-octet-as', asn: 65001 },
    { type: 'add-path', families: [{ afi: 1, safi: 1, sendReceive: 3 }] },
  ];

  it('two sessions interleaved; an UPDATE split over 3 segments; ADD-PATH inferred from both OPENs', async () => {
    const c1 = new Conversation(client, server, 1, 2);
    const c2 = new Conversation({ ip: '10.0.0.3', port: 40000 }, server, 3, 4);
    const ap: WireOptions = { ...V4, addPath: new Set(['1/1']) };
    const u = update([65002], [['10.2.0.0', 24]], ap, [7]);
    const seq: Segment[] = [
      ...c1.handshake(),
      ...c1.send('a', open(65001, caps)),
      ...c2.handshake(),
      ...c2.send('a', open(65003, [])),
      ...c1.send('b', open(65002, caps)),
      ...c2.send('b', open(65002, [])),
      ...c2.send('a', KEEPALIVE),
    ];
    const parts = c1.send('b', u, [20, 20]);
    const segs = [...seq, parts[0], parts[2], ...c2.send('b', KEEPALIVE), parts[1], ...c1.send('a', KEEPALIVE)];
    const r = await run(['decode', file(pcapFile(segs))]);
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    const summary = r.lines.map((l) => `${l.stream} ${l.offset} ${l.type}`);
    expect(summary).toEqual([
      '10.0.0.1:35123>10.0.0.2:179 0 open',
      '10.0.0.3:40000>10.0.0.2:179 0 open',
      '10.0.0.2:179>10.0.0.1:35123 0 open',
      '10.0.0.2:179>10.0.0.3:40000 0 open',
      '10.0.0.3:40000>10.0.0.2:179 29 keepalive',
      '10.0.0.2:179>10.0.0.3:40000 29 keepalive',
      // Completed by the middle segment, which came last.
      `10.0.0.2:179>10.0.0.1:35123 ${r.lines[2].length} update`,
      `10.0.0.1:35123>10.0.0.2:179 ${r.lines[0].length} keepalive`,
    ]);
    expect(r.lines[6]).toMatchObject({ nlri: ['10.2.0.0/24'], nlriPathIds: [7], length: u.length });
    expect(r.lines[0].time).toBe('2023-11-14T22:13:20.003000Z');
    expect(Object.keys(r.lines[0]).slice(0, 5)).toEqual(['stream', 'offset', 'time', 'length', 'type']);
    // Forcing ADD-PATH off reads the path identifier as part of the prefixes: that is not this UPDATE.
    const off = await run(['decode', '--no-add-path', file(pcapFile(segs))]);
    expect(JSON.stringify(off.lines)).not.toContain('"nlriPathIds":[7]');
  });

  it('a gap: a warning, and decoding resumes at the next marker', async () => {
    const c = new Conversation(client, server);
    const segs = [...c.handshake(), ...c.send('a', KEEPALIVE), ...c.send('a', KEEPALIVE.subarray(0, 5))];
    c.skip('a', 14);
    segs.push(...c.send('a', cat(KEEPALIVE.subarray(0, 3), KEEPALIVE)));
    const r = await run(['decode', file(pcapFile(segs))]);
    expect(r.status).toBe(0);
    expect(r.lines.map((l) => l.offset)).toEqual([0, 41]);
    expect(r.err).toMatch(/14 byte\(s\) missing at offset 24/);
    expect(r.err).toMatch(/skipped 3 byte\(s\) at offset 38 to the first BGP marker/);
  });

  it('a header error in one stream stops that stream only', async () => {
    const c = new Conversation(client, server);
    const bad = KEEPALIVE.slice();
    bad[3] = 0; // RFC 4271 6.1: Connection Not Synchronized
    const segs = [...c.handshake(), ...c.send('a', cat(KEEPALIVE, bad, KEEPALIVE)), ...c.send('b', cat(KEEPALIVE, KEEPALIVE))];
    const r = await run(['decode', file(pcapFile(segs))]);
    expect(r.status).toBe(1);
    expect(r.lines.map((l) => `${l.stream} ${l.offset}`)).toEqual([
      '10.0.0.1:35123>10.0.0.2:179 0',
      '10.0.0.2:179>10.0.0.1:35123 0',
      '10.0.0.2:179>10.0.0.1:35123 19',
    ]);
    expect(r.err).toMatch(
      /^weft decode: error: 10\.0\.0\.1:35123>10\.0\.0\.2:179: offset 19: header\.not-synchronized \(Message Header Error \/ Connection Not Synchronized\).*at byte 22/m,
    );
  });
});

describe('weft: usage errors and help', () => {
  it('missing file, malformed capture, bad hex, bad options: exit 2, one clear line, no stack trace', async () => {
    const missing = await run(['decode', join(dir, 'nope.pcap')]);
    expect(missing.status).toBe(2);
    expect(missing.err).toBe(`weft: cannot read ${join(dir, 'nope.pcap')}: no such file\n`);

    const pcap = pcapFile([]);
    const truncated = await run(['decode', file(pcap.subarray(0, 12))]);
    expect(truncated.status).toBe(2);
    expect(truncated.err).toMatch(/malformed capture: pcap file header is truncated/);

    const hex = await run(['decode', '--hex', file('ffff\nff zz\n')]);
    expect(hex.status).toBe(2);
    expect(hex.err).toMatch(/:2:4: "z" is not a hex digit/);

    expect((await run(['decode', '--hex', file('fff')])).err).toMatch(/odd number of hex digits/);
    expect((await run(['decode', '--bogus'])).status).toBe(2);
    expect((await run(['decode', '--hex', '--pcap', 'x'])).err).toMatch(/cannot be used with/);
    expect((await run(['decode', '--port', '0', 'x'])).status).toBe(2);
    expect((await run(['decode', '--add-path', 'ipx', file(KEEPALIVE)])).err).toMatch(/unknown family "ipx"/);
    expect((await run(['decode'])).err).toMatch(/no input/);
    expect((await run(['frobnicate'])).status).toBe(2);
    const none = await run([]);
    expect(none.status).toBe(2);
    expect(none.err).toMatch(/Usage: weft/);
    for (const r of [missing, truncated, hex]) noStack(r.err);
  });

  it('help reads like a man page: description, options, examples, exit status', async () => {
    const top = await run(['--help']);
    expect(top.status).toBe(0);
    for (const s of ['Usage: weft', 'Commands:', 'decode', 'Exit status:', 'Examples:']) expect(top.out).toContain(s);
    const d = await run(['decode', '--help']);
    expect(d.status).toBe(0);
    for (const opt of ['--pcap', '--hex', '--raw', '--port', '--four-octet-as', '--two-octet-as', '--add-path', '--no-add-path', '--extended-message', '--pretty']) {
      expect(d.out).toContain(opt);
    }
    for (const s of ['Input formats:', 'Output:', 'Session options:', 'Errors:', 'Examples:', 'Exit status:']) expect(d.out).toContain(s);
    expect((await run(['help', 'decode'])).out).toBe(d.out);
    expect((await run(['--version'])).out).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

describe('weft decode: arbitrary input never crashes it', () => {
  const c = new Conversation({ ip: '10.0.0.1', port: 35123 }, { ip: '10.0.0.2', port: 179 });
  const u = update([65002], [['10.2.0.0', 24]], V4);
  const good = pcapFile([...c.handshake(), ...c.send('a', open(65001, [])), ...c.send('a', u, [30]), ...c.send('b', KEEPALIVE)]);
  const mutations = fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 });

  it('a corrupted capture gives exit 0, 1 or 2 and no stack trace', async () => {
    await fc.assert(
      fc.asyncProperty(mutations, fc.nat(good.length), async (flips, cut) => {
        const bytes = good.slice(0, Math.max(cut, 1));
        for (const [at, v] of flips) if (at < bytes.length) bytes[at] = v;
        const r = await run(['decode', '--pcap', '-'], bytes);
        expect([0, 1, 2]).toContain(r.status);
        noStack(r.err);
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary bytes with the format guessed give exit 0, 1 or 2', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        const r = await run(['decode', '-'], bytes);
        expect([0, 1, 2]).toContain(r.status);
        noStack(r.err);
      }),
      { numRuns: 300 },
    );
  });
});

describe('output helpers', () => {
  it('toJson: bytes as hex, bigints as text; isoTime with 6 or 9 digits', () => {
    expect(toJson({ b: Uint8Array.of(1, 171), n: 10n, s: new Set([1]) })).toBe('{"b":"01ab","n":"10","s":[1]}');
    expect(isoTime(1_700_000_000_123_456_789n, 6)).toBe('2023-11-14T22:13:20.123456Z');
    expect(isoTime(1_700_000_000_123_456_789n, 9)).toBe('2023-11-14T22:13:20.123456789Z');
    expect(isoTime(0n, 0)).toBe('1970-01-01T00:00:00Z');
  });

  it('formatTable aligns columns; LineWriter batches lines', () => {
    const rows = [
      { peer: '10.0.0.1', state: 'Established', prefixes: 12 },
      { peer: '10.0.0.22', state: 'Active', prefixes: 0 },
    ];
    const table = formatTable(rows, [
      { header: 'PEER', value: (r) => r.peer },
      { header: 'PREFIXES', value: (r) => r.prefixes, right: true },
      { header: 'STATE', value: (r) => r.state },
    ]);
    expect(table).toBe('PEER       PREFIXES  STATE\n10.0.0.1         12  Established\n10.0.0.22         0  Active\n');
    const writes: string[] = [];
    const w = new LineWriter((t) => writes.push(t), 10);
    w.line('abc');
    expect(writes).toEqual([]);
    w.line('defghij');
    w.line('k');
    w.flush();
    expect(writes).toEqual(['abc\ndefghij\n', 'k\n']);
  });
});

describe('real captures (proto-fixtures/sessions, recorded by labs/capture/capture.sh)', () => {
  const sessions = join(import.meta.dirname, '..', '..', 'proto-fixtures', 'sessions');
  const pcaps = existsSync(sessions) ? readdirSync(sessions).filter((f) => /\.pcap(ng)?$/.test(f)) : [];

  it.skipIf(pcaps.length === 0)('every capture decodes without an error; every stream starts with an OPEN (or a NOTIFICATION refusing the connection)', async () => {
    for (const f of pcaps) {
      const r = await run(['decode', join(sessions, f)]);
      expect(r.err, f).not.toMatch(/error:/);
      expect(r.status, f).toBe(0);
      expect(r.lines.length, f).toBeGreaterThan(0);
      const first = new Map<unknown, Record<string, unknown>>();
      for (const l of r.lines) if (!first.has(l.stream)) first.set(l.stream, l);
      for (const [stream, l] of first) {
        expect(l.offset, `${f} ${String(stream)}`).toBe(0);
        expect(['open', 'notification'], `${f} ${String(stream)}`).toContain(l.type);
      }
    }
  });

  it.skipIf(pcaps.length === 0)('the options inferred per stream decode each fixture message as the recorded session options do', () => {
    const fixtures = new Map<string, WireOptions>();
    const fixtureDir = join(sessions, '..');
    for (const f of readdirSync(fixtureDir).filter((x) => x.endsWith('.json'))) {
      const j = JSON.parse(readFileSync(join(fixtureDir, f), 'utf8')) as { hex?: string; options?: { fourOctetAs: boolean; extendedMessage: boolean; addPath: string[] } };
      if (typeof j.hex === 'string' && j.options) {
        fixtures.set(j.hex.toLowerCase(), { fourOctetAs: j.options.fourOctetAs, extendedMessage: j.options.extendedMessage, addPath: new Set(j.options.addPath) });
      }
    }
    // A decode, or the error it ends in: equal views mean the two option sets read the bytes alike.
    // Empty lists are dropped: identical bytes (an End-of-RIB) are kept once, from the first session
    // seen, and read under ADD-PATH they only gain empty path id lists.
    const view = (b: Uint8Array, o: WireOptions) => {
      try {
        return JSON.parse(JSON.stringify(messageToJson(decodeMessage(b, o)), (_k, v: unknown) => (Array.isArray(v) && v.length === 0 ? undefined : v)));
      } catch (e) {
        return String(e);
      }
    };
    const noForce = { format: undefined, port: 179, fourOctetAs: undefined, addPath: undefined, extendedMessage: undefined, pretty: false };
    let compared = 0;
    for (const f of pcaps) {
      const streams = captureStreams(f, readFileSync(join(sessions, f)), 179, () => {});
      const options = inferSessionOptions(streams, noForce);
      for (const s of streams) {
        const o = options.get(s) as WireOptions;
        for (const fr of frameRuns(s, o.extendedMessage ? 65535 : 4096, () => {}).frames) {
          const recorded = fixtures.get(toHex(fr.bytes));
          if (!recorded) continue;
          compared++;
          expect(view(fr.bytes, o), `${f} ${s.name} offset ${fr.offset}`).toEqual(view(fr.bytes, recorded));
        }
      }
    }
    expect(compared).toBeGreaterThan(0);
  });
});

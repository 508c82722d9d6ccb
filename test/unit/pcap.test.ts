import { describe, expect, it } from 'vitest';
import { CaptureError, readCapture, tcpSegment, type TcpSegment } from '../../src/cli/pcap.js';
import { markAt, reassemble, type TcpStream } from '../../src/cli/tcp-stream.js';
import { Conversation, pcapFile, pcapngFile, type CaptureOptions, type Link, type Segment } from '../helpers/pcap-writer.js';

/** Bytes 0..n-1 with a per-stream tag, so a misplaced byte shows. */
function data(n: number, tag: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + tag) & 255);
}

function streamsOf(file: Uint8Array, port = 179): { streams: TcpStream[]; warnings: string[] } {
  const warnings: string[] = [];
  const segments: TcpSegment[] = [];
  for (const p of readCapture(file, (m) => warnings.push(m))) {
    const s = tcpSegment(p);
    if (typeof s === 'string') warnings.push(s);
    else if (s && (s.srcPort === port || s.dstPort === port)) segments.push(s);
  }
  return { streams: reassemble(segments, (m) => warnings.push(m)), warnings };
}

function only(streams: TcpStream[], name: string): TcpStream {
  const s = streams.find((x) => x.name === name);
  if (!s) throw new Error(`no stream ${name} in ${streams.map((x) => x.name).join(', ')}`);
  return s;
}

function whole(s: TcpStream): Uint8Array {
  expect(s.runs).toHaveLength(1);
  expect(s.runs[0].offset).toBe(0);
  return s.runs[0].bytes;
}

const client = { ip: '10.0.0.1', port: 35123 };
const server = { ip: '10.0.0.2', port: 179 };

/** A session: handshake, 100 bytes client -> server in 3 segments, 60 bytes back in 2. */
function session(c = new Conversation(client, server)): { c: Conversation; segs: Segment[]; up: Uint8Array; down: Uint8Array } {
  const up = data(100, 1);
  const down = data(60, 2);
  const segs = [...c.handshake(), ...c.send('a', up, [30, 40]), ...c.send('b', down, [25])];
  return { c, segs, up, down };
}

describe('capture files', () => {
  const cases: [string, (s: Segment[], o: CaptureOptions) => Uint8Array, CaptureOptions][] = [
    ['pcap, little-endian, microseconds, Ethernet', pcapFile, { link: 'ethernet' }],
    ['pcap, big-endian, nanoseconds, Ethernet with a VLAN tag', pcapFile, { link: 'ethernet-vlan', bigEndian: true, nano: true }],
    ['pcap, Linux cooked (SLL)', pcapFile, { link: 'sll' }],
    ['pcap, Linux cooked v2 (SLL2)', pcapFile, { link: 'sll2', nano: true }],
    ['pcap, NULL loopback', pcapFile, { link: 'null' }],
    ['pcap, raw IP', pcapFile, { link: 'raw', bigEndian: true }],
    ['pcapng, Ethernet, microseconds', pcapngFile, { link: 'ethernet' }],
    ['pcapng, big-endian, SLL, nanoseconds', pcapngFile, { link: 'sll', bigEndian: true, nano: true }],
  ];
  for (const [title, write, opts] of cases) {
    it(`${title}: both directions reassembled`, () => {
      const { c, segs, up, down } = session();
      const { streams, warnings } = streamsOf(write(segs, opts));
      expect(warnings).toEqual([]);
      expect(streams.map((s) => s.name)).toEqual([c.name('a'), c.name('b')]);
      expect(streams[0].name).toBe('10.0.0.1:35123>10.0.0.2:179');
      expect(streams[0].reverseName).toBe('10.0.0.2:179>10.0.0.1:35123');
      expect(streams[0].sawSyn).toBe(true);
      expect(whole(streams[0])).toEqual(up);
      expect(whole(streams[1])).toEqual(down);
      // Timestamps: packet i is at start + i ms + 123 ns (the writer's clock).
      const m = markAt(streams[0].runs[0], 100);
      expect(m.index).toBe(5);
      expect(m.timeNs).toBe(1_700_000_000_005_000_000n + (opts.nano ? 123n : 0n));
      expect(m.timeDigits).toBe(opts.nano ? 9 : 6);
    });
  }

  it('IPv6 over Ethernet and raw IP: addresses in brackets', () => {
    for (const link of ['ethernet', 'raw', 'sll2'] as Link[]) {
      const c = new Conversation({ ip: '2001:db8::1', port: 40000 }, { ip: '2001:db8::2', port: 179 });
      const { segs, up, down } = session(c);
      const { streams, warnings } = streamsOf(pcapFile(segs, { link }));
      expect(warnings).toEqual([]);
      expect(only(streams, '[2001:db8::1]:40000>[2001:db8::2]:179').runs[0].bytes).toEqual(up);
      expect(only(streams, '[2001:db8::2]:179>[2001:db8::1]:40000').runs[0].bytes).toEqual(down);
    }
  });

  it('only TCP to or from the chosen port', () => {
    const { segs } = session(new Conversation(client, { ip: '10.0.0.2', port: 1179 }));
    expect(streamsOf(pcapFile(segs)).streams).toEqual([]);
    expect(streamsOf(pcapFile(segs), 1179).streams).toHaveLength(2);
  });

  it('a malformed capture is a CaptureError; a record cut off at the end is a warning', () => {
    const { segs, up } = session();
    const file = pcapFile(segs);
    expect(() => readCapture(file.subarray(0, 10), () => {})).toThrow(CaptureError);
    const badVersion = file.slice();
    badVersion[4] = 9;
    expect(() => readCapture(badVersion, () => {})).toThrow(/version 9/);
    const hugeRecord = file.slice();
    new DataView(hugeRecord.buffer).setUint32(24 + 8, 0x7fffffff, true);
    expect(() => readCapture(hugeRecord, () => {})).toThrow(/claims/);
    expect(() => readCapture(Uint8Array.of(1, 2, 3, 4, 5), () => {})).toThrow(/not a pcap/);
    const ng = pcapngFile(segs);
    const badBlock = ng.slice();
    new DataView(badBlock.buffer).setUint32(28 + 4, 13, true); // IDB length not a multiple of 4
    expect(() => readCapture(badBlock, () => {})).toThrow(CaptureError);

    // Cut inside the last record (a server -> client segment): the rest is still read.
    const { streams, warnings } = streamsOf(file.subarray(0, file.length - 5));
    expect(warnings.join('\n')).toMatch(/ends inside record 8/);
    expect(whole(streams[0])).toEqual(up);
  });
});

describe('TCP reassembly', () => {
  it('out-of-order and retransmitted segments; a message split over 3 segments', () => {
    const c = new Conversation(client, server);
    const msg = data(90, 3);
    const [s1, s2, s3] = c.send('a', msg, [30, 30]);
    const after = c.send('a', data(19, 4));
    // s3 arrives first, then s1, s1 again, s2 (which completes the message), s2 again, the rest.
    const segs = [...c.handshake(), s3, s1, s1, s2, s2, ...after];
    const { streams, warnings } = streamsOf(pcapFile(segs));
    expect(warnings).toEqual([]);
    const run = streams[0].runs[0];
    expect(run.bytes).toEqual(Uint8Array.from([...msg, ...data(19, 4)]));
    // The message became readable with the 4th segment packet (index 3 + 3 = 6), not the 3rd part's.
    expect(markAt(run, 90).index).toBe(6);
    expect(markAt(run, 30).index).toBe(4);
    expect(markAt(run, 109).index).toBe(8);
  });

  it('overlapping retransmissions (a larger resend covering two segments) keep the first copy', () => {
    const c = new Conversation(client, server);
    const start = c.nextSeq('a');
    const msg = data(50, 5);
    const [a, b] = c.send('a', msg, [20]);
    const resend = c.seg('a', start + 10, 24, msg.subarray(10, 50));
    const { streams } = streamsOf(pcapFile([...c.handshake(), a, resend, b]));
    expect(whole(streams[0])).toEqual(msg);
  });

  it('two connections interleaved packet by packet', () => {
    const c1 = new Conversation(client, server, 111, 222);
    const c2 = new Conversation({ ip: '10.0.0.3', port: 40001 }, server, 333, 444);
    const x = session(c1);
    const y = session(c2);
    const segs: Segment[] = [];
    for (let i = 0; i < Math.max(x.segs.length, y.segs.length); i++) {
      if (x.segs[i]) segs.push(x.segs[i]);
      if (y.segs[i]) segs.push(y.segs[i]);
    }
    const { streams, warnings } = streamsOf(pcapFile(segs));
    expect(warnings).toEqual([]);
    expect(streams.map((s) => s.name)).toEqual([c1.name('a'), c2.name('a'), c1.name('b'), c2.name('b')]);
    expect(whole(only(streams, c1.name('a')))).toEqual(x.up);
    expect(whole(only(streams, c2.name('a')))).toEqual(y.up);
    expect(whole(only(streams, c1.name('b')))).toEqual(x.down);
    expect(whole(only(streams, c2.name('b')))).toEqual(y.down);
  });

  it('sequence numbers that wrap past 2^32', () => {
    const c = new Conversation(client, server, 0xffffffd0, 0xfffffff0);
    const { segs, up, down } = session(c);
    const { streams } = streamsOf(pcapFile(segs));
    expect(whole(streams[0])).toEqual(up);
    expect(whole(streams[1])).toEqual(down);
  });

  it('a hole never filled is a gap: a warning and a second run', () => {
    const c = new Conversation(client, server);
    const first = c.send('a', data(40, 6));
    c.skip('a', 25);
    const last = c.send('a', data(30, 7), [10]);
    const { streams, warnings } = streamsOf(pcapFile([...c.handshake(), ...first, last[1], last[0]]));
    expect(warnings).toEqual([`${c.name('a')}: 25 byte(s) missing at offset 40 (not captured); decoding resumes at the next BGP marker`]);
    const runs = streams[0].runs;
    expect(runs.map((r) => [r.offset, r.bytes.length])).toEqual([
      [0, 40],
      [65, 30],
    ]);
    expect(runs[1].bytes).toEqual(data(30, 7));
  });

  it('a capture that starts after the handshake: offset 0 is the lowest sequence number', () => {
    const c = new Conversation(client, server);
    c.handshake();
    const segs = c.send('a', data(60, 8), [20, 20]);
    const { streams } = streamsOf(pcapFile([segs[1], segs[0], segs[2]]));
    expect(streams[0].sawSyn).toBe(false);
    expect(whole(streams[0])).toEqual(data(60, 8));
  });

  it('a new SYN on the same addresses and ports starts connection #2', () => {
    const first = session(new Conversation(client, server, 100, 200));
    const second = session(new Conversation(client, server, 900000, 800000));
    const { streams } = streamsOf(pcapFile([...first.segs, ...second.segs]));
    expect(streams.map((s) => s.name)).toEqual([
      '10.0.0.1:35123>10.0.0.2:179',
      '10.0.0.2:179>10.0.0.1:35123',
      '10.0.0.1:35123>10.0.0.2:179 #2',
      '10.0.0.2:179>10.0.0.1:35123 #2',
    ]);
    expect(streams[2].reverseName).toBe('10.0.0.2:179>10.0.0.1:35123 #2');
    expect(whole(streams[0])).toEqual(first.up);
    expect(whole(streams[2])).toEqual(second.up);
    expect(whole(streams[3])).toEqual(second.down);
  });

  it('a retransmitted SYN does not start a new connection', () => {
    const c = new Conversation(client, server);
    const [syn, ...rest] = c.handshake();
    const { streams } = streamsOf(pcapFile([syn, syn, ...rest, ...c.send('a', data(10, 9))]));
    expect(streams.map((s) => s.name)).toEqual([c.name('a')]);
    expect(whole(streams[0])).toEqual(data(10, 9));
  });

  it('packets it cannot read are named: IPv4 fragments, unsupported link types', () => {
    const c = new Conversation(client, server);
    const file = pcapFile(c.send('a', data(10, 1)));
    const frag = file.slice();
    frag[24 + 16 + 14 + 6] = 0x20; // More Fragments
    const pkt = readCapture(frag, () => {})[0];
    expect(tcpSegment(pkt)).toBe('IPv4 fragment (not reassembled)');
    expect(tcpSegment({ ...pkt, linkType: 147 })).toBe('unsupported link type 147');
    expect(tcpSegment({ ...pkt, data: pkt.data.subarray(0, 30) })).toMatch(/truncated/);
  });
});

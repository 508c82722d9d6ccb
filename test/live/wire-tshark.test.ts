// weft's encoder checked by an independent decoder: the messages of fixtures-tshark/scenario.ts go
// over a real TCP connection on lo inside a namespace, tcpdump captures them, tshark's BGP
// dissector reads them, and every field tshark reports is compared with what weft meant to send
// (the plain values in scenario.ts, never weft's own decoder).
//
// Observed with TShark 4.0.17 (Debian 12): it dissects every field sent here, including the FQDN
// capability, RFC 9003 shutdown text, RFC 7313 subtypes, the RFC 9012 encapsulation extended
// community, the RFC 9012 Tunnel Encapsulation attribute (VXLAN), the EVPN Router's MAC and large communities, so no attribute needs a raw-byte
// fallback. Raw bytes are still compared end to end: what the sink received is byte for byte
// what weft encoded.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../helpers/netns.js';
import { missingPrereq } from '../helpers/prereq.js';
import { DaemonError } from '../helpers/processes.js';
import { bgpMessages, capture, dissect, type TsharkPacket } from '../helpers/tshark.js';
import { waitFor } from '../helpers/wait.js';
import * as S from './fixtures-tshark/scenario.js';

const PIPE = fileURLToPath(new URL('./fixtures-tshark/bgp-pipe.mjs', import.meta.url));

const skipReason = missingPrereq(['ip', 'tcpdump', 'tshark']);
if (skipReason) console.warn(`wire-tshark skipped: ${skipReason}`);

// ---------------------------------------------------------------- tshark JSON trees

type Tree = unknown;

/** Every value stored under `key` anywhere in the tree; arrays (repeated keys) are flattened. */
function all(tree: Tree, key: string): unknown[] {
  const out: unknown[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (k === key) out.push(...(Array.isArray(x) ? x : [x]));
      visit(x);
    }
  };
  visit(tree);
  return out;
}

function strs(tree: Tree, key: string): string[] {
  return all(tree, key).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
}

/** The single value of `key` in the tree (fails when tshark shows it zero or several times). */
function one(tree: Tree, key: string): string {
  const v = strs(tree, key);
  expect(v, `tshark field ${key}`).toHaveLength(1);
  return v[0]!;
}

function objects(tree: Tree, key: string): Record<string, unknown>[] {
  return all(tree, key).filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object');
}

/** "addr/len" for each prefix entry tshark shows with address field `field`, in wire order. */
function prefixes(tree: Tree, field: string): string[] {
  const out: string[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (v === null || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (field in o) out.push(`${String(o[field])}/${String(o['bgp.prefix_length'])}`);
    else Object.values(o).forEach(visit);
  };
  visit(tree);
  return out;
}

// ---------------------------------------------------------------- what weft meant, in tshark's terms

/** IANA capability codes, in the order scenario.ts lists the capabilities. */
const CAP_CODES = ['1', '1', '2', '70', '65', '64', '69', '73'];
/**
 * RFC 4271 4.3 / RFC 4760 / RFC 4360 / RFC 9012 / RFC 8092 flags (Optional, Transitive, Extended Length).
 * packUpdates sets Extended Length on both MP attributes; the End-of-RIB's empty MP_UNREACH_NLRI
 * goes without it (EOR_FLAGS).
 */
const ATTR_FLAGS: Record<string, string> = {
  '1': '0x40', '2': '0x40', '3': '0x40', '4': '0x80', '5': '0x40', '7': '0xc0', '8': '0xc0',
  '9': '0x80', '10': '0x80', '14': '0x90', '15': '0x90', '16': '0xc0', '23': '0xc0', '32': '0xc0',
};
const EOR_FLAGS: Record<string, string> = { '15': '0x80' };
const V4_ATTR_CODES = ['1', '2', '3', '4', '5', '7', '8', '9', '10', '16', '23', '32'];
/** RFC 7606 5.1: MP_REACH_NLRI first; no NEXT_HOP with IPv6-only NLRI (RFC 4760 3). */
const V6_ATTR_CODES = ['14', '1', '2', '4', '5', '7', '8', '9', '10', '16', '23', '32'];
const TYPE_OF: Record<S.Kind, string> = {
  open: '1', keepalive: '4', 'v4-withdraw': '2', 'v6-withdraw': '2', 'v4-announce': '2', 'v6-announce': '2',
  'eor-v4': '2', 'eor-v6': '2', 'route-refresh': '5', notification: '3',
};

/** RFC 1997: a well-known community (high 16 bits 0xffff) as tshark's hex, others as AS:value. */
function communityText(c: number): string {
  return c >>> 16 === 0xffff ? `0x${c.toString(16)}` : `${c >>> 16}:${c & 0xffff}`;
}

/** Checks the shared path attributes of one announcing UPDATE against scenario.ts. */
function checkCommonAttributes(m: Tree): void {
  const A = S.ATTRS;
  expect(one(m, 'bgp.update.path_attribute.origin')).toBe(String(A.origin));
  const segs = objects(m, 'bgp.update.path_attribute.as_path_segment').map((s) => ({
    type: String(s['bgp.update.path_attribute.as_path_segment.type']),
    asns: strs(s, 'bgp.update.path_attribute.as_path_segment.as4'),
  }));
  // Segment types RFC 4271 4.3: 1 AS_SET, 2 AS_SEQUENCE; "as4": tshark read 4-octet AS numbers.
  expect(segs).toEqual(S.AS_PATH.map((s) => ({ type: s.kind === 'set' ? '1' : '2', asns: s.asns.map(String) })));
  expect(strs(m, 'bgp.update.path_attribute.as_path_segment.as2')).toEqual([]);
  expect(one(m, 'bgp.update.path_attribute.multi_exit_disc')).toBe(String(A.med));
  expect(one(m, 'bgp.update.path_attribute.local_pref')).toBe(String(A.localPref));
  expect(one(m, 'bgp.update.path_attribute.aggregator_as')).toBe(String(A.aggregatorAs));
  expect(one(m, 'bgp.update.path_attribute.aggregator_origin')).toBe(A.aggregatorAddress);
  const comms = [
    ...objects(m, 'bgp.update.path_attribute.community').map(
      (c) => `${String(c['bgp.update.path_attribute.community_as'])}:${String(c['bgp.update.path_attribute.community_value'])}`,
    ),
    ...strs(m, 'bgp.update.path_attribute.community_wellknown'),
  ];
  expect(comms.sort()).toEqual(A.communities.map(communityText).sort());
  expect(one(m, 'bgp.update.path_attribute.originator_id')).toBe(A.originatorId);
  expect(strs(m, 'bgp.path_attribute.cluster_id')).toEqual(A.clusterList);
  const ext = objects(m, 'bgp.ext_community');
  expect(ext).toHaveLength(2);
  // RFC 9012 4.1: transitive opaque (0x03) / encapsulation (0x0c), tunnel type 8 = VXLAN.
  expect(ext[0]!['bgp.ext_com.type']).toBe('0x03');
  expect(ext[0]!['bgp.ext_com.stype_tr_opaque']).toBe('0x0c');
  expect(ext[0]!['bgp.ext_com.tunnel_type']).toBe(String(A.tunnelType));
  // RFC 9135 8.1: EVPN (0x06) / Router's MAC (0x03).
  expect(ext[1]!['bgp.ext_com.type']).toBe('0x06');
  expect(ext[1]!['bgp.ext_com.stype_tr_evpn']).toBe('0x03');
  expect(ext[1]!['bgp.ext_com_evpn.esi.router_mac']).toBe(A.routerMac);
  // RFC 9012 2: one Tunnel TLV, VXLAN (8), holding the Tunnel Egress Endpoint (6; 3.1: Reserved,
  // Address Family 1, the address) and the VXLAN Encapsulation sub-TLV (1; 3.2.1: V and M set).
  expect(strs(m, 'bgp.update.encaps_tunnel_tlv_type')).toEqual(['8']);
  expect(strs(m, 'bgp.update.encaps_tunnel_subtlv_type')).toEqual(['6', '1']);
  const vtepHex = A.vtep.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join(':');
  expect(one(m, 'bgp.update.encaps_tunnel_tlv_subtlv.value')).toBe(`00:00:00:00:00:01:${vtepHex}`);
  expect(one(m, 'bgp.update.encaps_tunnel_tlv_subtlv.vxlan.flags')).toBe('0xc0');
  expect(one(m, 'bgp.update.encaps_tunnel_tlv_subtlv.vxlan.vnid')).toBe(`0x${A.vni.toString(16).padStart(6, '0')}`);
  expect(one(m, 'bgp.update.encaps_tunnel_tlv_subtlv.vxlan.mac')).toBe(A.routerMac);
  expect(one(m, 'bgp.update.encaps_tunnel_tlv_subtlv.vxlan.reserved')).toBe('0x0000');
  const large = objects(m, 'bgp.large_communities_tree').map((l) =>
    ['ga', 'ldp1', 'ldp2'].map((f) => String(l[`bgp.large_communities.${f}`])).join(':'),
  );
  expect(large).toEqual(A.large.map((l) => l.join(':')));
}

/** Type codes and flags of the path attributes, in wire order. */
function attributeCodes(m: Tree, flags: Record<string, string> = ATTR_FLAGS): string[] {
  const attrs = objects(m, 'bgp.update.path_attribute');
  for (const a of attrs) {
    const code = String(a['bgp.update.path_attribute.type_code']);
    expect(a['bgp.update.path_attribute.flags'], `flags of attribute ${code}`).toBe(flags[code]);
  }
  return attrs.map((a) => String(a['bgp.update.path_attribute.type_code']));
}

// ---------------------------------------------------------------- the test

describe.skipIf(skipReason !== undefined)('weft encoder vs tshark BGP dissector (live capture on lo)', () => {
  let lab: Lab;
  const sent = S.scenario();
  let received: Buffer;
  let packets: TsharkPacket[];
  let msgs: Record<string, unknown>[];
  const of = (kind: S.Kind) => msgs.filter((_, i) => sent[i]?.kind === kind);

  beforeAll(async () => {
    lab = Lab.create();
    const ns = await lab.createNs('tshark');
    const hexFile = lab.path('messages.hex');
    const recvFile = lab.path('received.bin');
    writeFileSync(hexFile, `${sent.map((s) => Buffer.from(s.bytes).toString('hex')).join('\n')}\n`);
    // libpcap's ring: lo does segmentation offload, so libpcap sizes every ring slot for the full
    // 256 KiB snapshot length, and its default 2 MiB buffer holds 8 of them. This burst (~80
    // packets, each seen twice on lo) overflowed it in 5 runs of 8 ("30 packets dropped by
    // kernel", the last messages missing). capture() therefore asks tcpdump for -B 32768 KiB (128 slots).
    const cap = await capture(lab, ns, 'lo', 'tcp port 179');
    const sink = lab.spawnIn(ns, process.execPath, [PIPE, 'sink', '127.0.0.1', '179', recvFile], { label: 'sink' });
    await waitFor(
      () => {
        if (!sink.alive()) throw new DaemonError('the TCP sink exited', [sink.logPath]);
        return sink.logTail().includes('listening on');
      },
      { what: 'the sink listening on 127.0.0.1:179', timeoutMs: 10_000, intervalMs: 10 },
    );
    await lab.exec(ns, process.execPath, [PIPE, 'send', '127.0.0.1', '179', hexFile], { timeoutMs: 20_000 });
    await waitFor(() => !sink.alive(), { what: 'the sink to exit', timeoutMs: 10_000, intervalMs: 10, diagnose: () => sink.logTail() });
    expect((await sink.exited).code, sink.logTail()).toBe(0);
    // tcpdump writes each packet as it comes (-U): wait until tshark sees every message, then stop.
    let seen: string[] = [];
    await waitFor(async () => (seen = bgpMessages(await dissect(cap.pcap)).map((m) => String(m['bgp.type']))).length >= sent.length, {
      what: `tshark to see all ${sent.length} messages in the capture`,
      timeoutMs: 20_000,
      intervalMs: 100,
      diagnose: () => {
        const logs = readdirSync(lab.dir).filter((f) => f.startsWith('cap-') && f.endsWith('.log'));
        const tcpdump = logs.map((f) => readFileSync(lab.path(f), 'utf8')).join('\n');
        return `tshark saw types [${seen.join(',')}] in ${statSync(cap.pcap).size} octets of ${cap.pcap}\n${tcpdump}`;
      },
    });
    packets = await dissect(await cap.stop());
    msgs = bgpMessages(packets);
    received = readFileSync(recvFile);
  });

  afterAll(async () => {
    await lab?.cleanup();
  });

  it('the sink received byte for byte what weft encoded', () => {
    expect(received.equals(Buffer.concat(sent.map((s) => s.bytes)))).toBe(true);
  });

  it('tshark sees exactly the messages sent: same count, types and lengths, nothing malformed', () => {
    expect(msgs.map((m) => m['bgp.type'])).toEqual(sent.map((s) => TYPE_OF[s.kind]));
    expect(msgs.map((m) => m['bgp.length'])).toEqual(sent.map((s) => String(s.bytes.length)));
    expect(strs(msgs, 'bgp.marker')).toEqual(sent.map(() => 'ff:'.repeat(16).slice(0, -1)));
    expect(all(packets, '_ws.malformed')).toEqual([]);
    expect(strs(msgs, '_ws.expert.message')).toEqual([]);
    // packUpdates really split the announcements over several messages.
    expect(of('v4-announce').length).toBeGreaterThanOrEqual(3);
    expect(of('v6-announce').length).toBeGreaterThanOrEqual(2);
  });

  it('OPEN: version, AS_TRANS, hold time, BGP id and every capability', () => {
    const [open] = of('open');
    expect(open['bgp.open.version']).toBe('4');
    expect(open['bgp.open.myas']).toBe('23456'); // RFC 6793 4.1: AS_TRANS for a 4-octet AS
    expect(open['bgp.open.holdtime']).toBe(String(S.OPEN.holdTime));
    expect(open['bgp.open.identifier']).toBe(S.OPEN.bgpId);
    expect(Number(open['bgp.open.opt.len'])).toBe(sent[0]!.bytes.length - 29);
    expect(strs(open, 'bgp.open.opt.param.type')).toEqual(CAP_CODES.map(() => '2'));
    expect(strs(open, 'bgp.cap.type')).toEqual(CAP_CODES);
    expect(one(open, 'bgp.cap.4as')).toBe(String(S.OPEN.asn));
    expect(strs(open, 'bgp.cap.mp.afi')).toEqual(['1', '2']);
    expect(strs(open, 'bgp.cap.mp.safi')).toEqual(['1', '1']);
    expect(one(open, 'bgp.cap.gr.timers.restart_time')).toBe(String(S.OPEN.grTime));
    expect(one(open, 'bgp.cap.gr.timers.restart_flag')).toBe('1');
    expect(one(open, 'bgp.cap.gr.timers.notification_flag')).toBe('0');
    expect(strs(open, 'bgp.cap.gr.afi')).toEqual(['1', '2']);
    expect(strs(open, 'bgp.cap.gr.safi')).toEqual(['1', '1']);
    expect(strs(open, 'bgp.cap.gr.flag')).toEqual(['0x80', '0x00']);
    expect(strs(open, 'bgp.cap.ap.afi')).toEqual(['1', '2']);
    expect(strs(open, 'bgp.cap.ap.safi')).toEqual(['1', '1']);
    expect(strs(open, 'bgp.cap.ap.sendreceive')).toEqual(['1', '1']);
    expect(one(open, 'bgp.cap.orf.fqdn.hostname')).toBe(S.OPEN.hostname);
    expect(one(open, 'bgp.cap.orf.fqdn.domain_name')).toBe(S.OPEN.domain);
  });

  it('IPv4 UPDATEs: exactly the announced NLRI and withdrawn routes, in order', () => {
    expect(prefixes(msgs, 'bgp.nlri_prefix')).toEqual(S.V4_ANNOUNCE);
    expect(prefixes(msgs, 'bgp.withdrawn_prefix')).toEqual(S.V4_WITHDRAW);
    for (const m of of('v4-announce')) expect(prefixes(m, 'bgp.nlri_prefix').length).toBeGreaterThan(0);
    const [wd] = of('v4-withdraw');
    expect(wd['bgp.update.path_attributes.length']).toBe('0');
  });

  it('IPv4 UPDATEs: every path attribute, with RFC flags, in every message', () => {
    for (const m of of('v4-announce')) {
      expect(attributeCodes(m)).toEqual(V4_ATTR_CODES);
      expect(one(m, 'bgp.update.path_attribute.next_hop')).toBe(S.ATTRS.nextHop);
      checkCommonAttributes(m);
    }
  });

  it('IPv6 UPDATEs: MP_REACH_NLRI (global + link-local next hop, prefixes) and MP_UNREACH_NLRI', () => {
    expect(prefixes(msgs, 'bgp.mp_reach_nlri_ipv6_prefix')).toEqual(S.V6_ANNOUNCE);
    expect(prefixes(msgs, 'bgp.mp_unreach_nlri_ipv6_prefix')).toEqual(S.V6_WITHDRAW);
    for (const m of of('v6-announce')) {
      expect(attributeCodes(m)).toEqual(V6_ATTR_CODES);
      expect(one(m, 'bgp.update.path_attribute.mp_reach_nlri.afi')).toBe('2');
      expect(one(m, 'bgp.update.path_attribute.mp_reach_nlri.safi')).toBe('1');
      expect(one(m, 'bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6')).toBe(S.V6_NEXT_HOP[0]);
      expect(one(m, 'bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6.link_local')).toBe(S.V6_NEXT_HOP[1]);
      expect(one(m, 'bgp.update.path_attribute.mp_reach_nlri.nbr_snpa')).toBe('0');
      expect(strs(m, 'bgp.update.path_attribute.next_hop')).toEqual([]);
      expect(strs(m, 'bgp.nlri_prefix')).toEqual([]);
      checkCommonAttributes(m);
    }
    const [wd] = of('v6-withdraw');
    expect(attributeCodes(wd)).toEqual(['15']);
    expect(one(wd, 'bgp.update.path_attribute.mp_unreach_nlri.afi')).toBe('2');
    expect(one(wd, 'bgp.update.path_attribute.mp_unreach_nlri.safi')).toBe('1');
  });

  it('End-of-RIB for IPv4 (empty UPDATE) and IPv6 (empty MP_UNREACH_NLRI)', () => {
    // tshark 4.0 has no End-of-RIB field of its own: the RFC 4724 2 shapes are checked instead.
    const [v4] = of('eor-v4');
    expect(v4['bgp.length']).toBe('23');
    expect(v4['bgp.update.withdrawn_routes.length']).toBe('0');
    expect(v4['bgp.update.path_attributes.length']).toBe('0');
    expect(Object.keys(v4).filter((k) => k.startsWith('bgp.update.') && !k.endsWith('.length'))).toEqual([]);
    const [v6] = of('eor-v6');
    expect(v6['bgp.update.withdrawn_routes.length']).toBe('0');
    expect(attributeCodes(v6, EOR_FLAGS)).toEqual(['15']);
    expect(one(v6, 'bgp.update.path_attribute.length')).toBe('3');
    expect(one(v6, 'bgp.update.path_attribute.mp_unreach_nlri.afi')).toBe('2');
    expect(one(v6, 'bgp.update.path_attribute.mp_unreach_nlri.safi')).toBe('1');
    expect(prefixes(v6, 'bgp.mp_unreach_nlri_ipv6_prefix')).toEqual([]);
    expect(strs(v6, 'bgp.nlri_prefix')).toEqual([]);
  });

  it('ROUTE-REFRESH subtypes 0/1/2, KEEPALIVEs, NOTIFICATION Cease/2 with the shutdown text', () => {
    const rr = of('route-refresh').map((m) => ({
      afi: Number(m['bgp.route_refresh.afi']),
      safi: Number(m['bgp.route_refresh.safi']),
      subtype: Number(m['bgp.route_refresh.subtype']),
    }));
    expect(rr).toEqual(S.ROUTE_REFRESHES.map((r) => ({ ...r })));
    expect(of('keepalive').map((m) => m['bgp.length'])).toEqual(['19', '19']);
    const [n] = of('notification');
    expect(n['bgp.notify.major_error']).toBe('6');
    expect(n['bgp.notify.minor_error_cease']).toBe('2');
    expect(n['bgp.notify.communication_length']).toBe(String(Buffer.byteLength(S.SHUTDOWN_TEXT, 'utf8')));
    expect(n['bgp.notify.communication']).toBe(S.SHUTDOWN_TEXT);
  });
});

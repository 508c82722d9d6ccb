// Both families on one session (issue 12), the agent's side: next hop self per family, the
// families and RFC 8950 capability of our OPEN, the batch filter for families a session did not
// negotiate, RFC 8950 encoding, the dual-stack listener (IPv4-mapped remote addresses, the
// fallback to 0.0.0.0) and ECMP changes reaching the route sink.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { parseAgentConfig } from '../../src/agent/config/agent-config.js';
import { underlayAddresses } from '../../src/agent/config/config-helpers.js';
import type { RouteSink } from '../../src/agent/kernel/route-sink.js';
import { normaliseAddress } from '../../src/agent/peers/connection.js';
import { familyStatus, negotiatedOnly, offeredExtendedNextHop, offeredFamilies, sessionNextHops } from '../../src/agent/peers/families.js';
import { Listener } from '../../src/agent/peers/listener.js';
import type { BgpSocket, Transport } from '../../src/agent/io/transport.js';
import { formatPrefix, parsePrefix } from '../../src/lib/prefix.js';
import type { Change } from '../../src/rib/loc-rib.js';
import { AdjRibOut, batchMessages } from '../../src/rib/export.js';
import { Rib } from '../../src/rib/loc-rib.js';
import { IPV4_UNICAST, IPV6_UNICAST, type Negotiated } from '../../src/session/index.js';
import { decodeMessage } from '../../src/wire/message.js';
import { attr, packRoutes } from '../../src/wire/update-pack.js';
import { DEFAULT_WIRE_OPTIONS, type AfiSafi, type UpdateMessage } from '../../src/wire/types.js';
import { Origin } from '../../src/wire/iana.js';
import { familiesCell, notNegotiatedLines } from '../../src/cli/status.js';
import { ManualScheduler, MemoryTransport } from '../helpers/manual-io.js';
import { ScriptedPeer } from '../helpers/scripted-peer.js';

const silent = pino({ level: 'silent' });

/** The fields of a Negotiated these functions read. */
function negotiated(families: AfiSafi[], peerTakesIpv4OverIpv6 = false): Negotiated {
  return {
    families,
    extendedNextHop: { send: peerTakesIpv4OverIpv6 ? [{ afi: 1, safi: 1, nextHopAfi: 2 }] : [], receive: [] },
    peerCapabilities: families.map((f) => ({ type: 'multiprotocol' as const, afi: f.afi, safi: f.safi })),
  } as unknown as Negotiated;
}

const node = (n: Record<string, unknown>, pools: unknown[] = [{ cidr: '10.244.0.0/16', blockSize: 26, encapsulation: 'always' }]) =>
  parseAgentConfig({ node: { name: 'a', asn: 64512, routerId: '10.0.0.1', ...n }, pools, dataplane: { enabled: false } }, 'x').config;
const BOTH = [IPV4_UNICAST, IPV6_UNICAST];

describe('next hop self per family (families.ts sessionNextHops)', () => {
  const v4only = underlayAddresses(node({ address: '10.0.1.9/24' }));
  const dual = underlayAddresses(node({ address: '10.0.1.9/24', address6: 'fd00:1::9/64' }));
  const v6dual = underlayAddresses(node({ address: 'fd00:1::9/64', address4: '10.0.1.9/24' }));
  const v6only = underlayAddresses(node({ address: 'fd00:1::9/64' }));
  it.each([
    ['IPv4 session, IPv4-only node: IPv6 next hop is the IPv4-mapped underlay address', '10.0.1.9', v4only, false, { ipv4: '10.0.1.9', ipv6: '::ffff:10.0.1.9' }, false],
    ['IPv4 session on a second interface: its own address for IPv4, the underlay for IPv6', '10.88.1.1', dual, false, { ipv4: '10.88.1.1', ipv6: 'fd00:1::9' }, false],
    ['IPv4 session with node.address6', '10.0.1.9', dual, false, { ipv4: '10.0.1.9', ipv6: 'fd00:1::9' }, false],
    ['IPv6 session with node.address4', 'fd00:1::9', v6dual, false, { ipv4: '10.0.1.9', ipv6: 'fd00:1::9' }, false],
    ['IPv6-only node, RFC 8950 negotiated: the IPv6 address for IPv4 routes', 'fd00:1::9', v6only, true, { ipv4: 'fd00:1::9', ipv6: 'fd00:1::9' }, true],
    ['IPv6-only node, no RFC 8950: no IPv4 next hop at all', 'fd00:1::9', v6only, false, { ipv4: undefined, ipv6: 'fd00:1::9' }, false],
    ['RFC 8950 negotiated but an IPv4 address exists: IPv4 next hop stays IPv4', 'fd00:1::9', v6dual, true, { ipv4: '10.0.1.9', ipv6: 'fd00:1::9' }, true],
  ])('%s', (_name, local, under, enh, want, flag) => {
    const r = sessionNextHops(local, under, negotiated(BOTH, enh));
    expect(r.nextHopSelf).toEqual(want);
    expect(r.ipv4ExtendedNextHop).toBe(flag);
  });
});

describe('our OPEN: families and the RFC 8950 capability', () => {
  it('IPv4 unicast always; IPv6 unicast with an IPv6 pool', () => {
    expect(offeredFamilies([{ cidr: parsePrefix('10.244.0.0/16') }])).toEqual([IPV4_UNICAST]);
    expect(offeredFamilies([{ cidr: parsePrefix('fd00:244::/48') }])).toEqual(BOTH);
  });
  it('extended next hop (IPv4 over IPv6) only with IPv4 pools on a node without an IPv4 address', () => {
    const v4pool = [{ cidr: parsePrefix('10.244.0.0/16') }];
    const v6pool = [{ cidr: parsePrefix('fd00:244::/48') }];
    expect(offeredExtendedNextHop(v4pool, underlayAddresses(node({ address: 'fd00:1::9/64' })))).toEqual([{ afi: 1, safi: 1, nextHopAfi: 2 }]);
    expect(offeredExtendedNextHop(v6pool, underlayAddresses(node({ address: 'fd00:1::9/64' }, v6pool.map(() => ({ cidr: 'fd00:244::/48', blockSize: 122 })))))).toEqual([]);
    expect(offeredExtendedNextHop(v4pool, underlayAddresses(node({ address: 'fd00:1::9/64', address4: '10.0.1.9/24' })))).toEqual([]);
    expect(offeredExtendedNextHop(v4pool, underlayAddresses(node({ address: '10.0.1.9/24' })))).toEqual([]);
  });
});

describe('routes of a family the session did not negotiate', () => {
  it('are taken out of the batch and counted by family; status names them', () => {
    const rib = new Rib({ local: { asn: 64512, routerId: '10.0.0.1' } });
    const out = new AdjRibOut(rib, { local: rib.local });
    const info = { id: 'b', address: '10.0.0.2', asn: 64512, routerId: '10.0.0.2', type: 'ibgp' as const, isRrClient: false, localAsn: 64512 };
    out.addPeer({ info, nextHopSelf: { ipv4: '10.0.0.1', ipv6: '::ffff:10.0.0.1' } });
    const own = [attr.origin(Origin.IGP), attr.asPath([])];
    for (const p of ['10.244.1.0/26', 'fd00:244::/122', 'fd00:244::40/122']) rib.localAdd(parsePrefix(p), own);
    const n = negotiated([IPV4_UNICAST]);
    const { batch, unsent } = negotiatedOnly(out.fullTable('b'), n);
    expect(batch.announce.flatMap((g) => g.prefixes.map(formatPrefix))).toEqual(['10.244.1.0/26']);
    expect([...unsent]).toEqual([['ipv6-unicast', 2]]);
    expect(out.sentCounts('b')).toEqual({ ipv4: 1, ipv6: 2 });
    expect(familyStatus(n, out.sentCounts('b'))).toEqual({ families: ['ipv4-unicast'], notNegotiated: [{ family: 'ipv6-unicast', routes: 2, why: 'not negotiated: the peer did not offer it' }] });
    expect(familyStatus(negotiated(BOTH), out.sentCounts('b'))).toEqual({ families: ['ipv4-unicast', 'ipv6-unicast'] });
  });
});

describe('weft status: the FAMILIES column and the lines for routes not sent', () => {
  it('v4 v6 while Established, - before; one line per peer and family not sent', () => {
    expect(familiesCell({ families: ['ipv4-unicast', 'ipv6-unicast'] })).toBe('v4 v6');
    expect(familiesCell({})).toBe('-');
    const lines = notNegotiatedLines([
      { id: 'host-b', notNegotiated: [{ family: 'ipv6-unicast', routes: 3, why: 'not negotiated: the peer did not offer it' }] },
      { id: 'host-c' },
      { id: 'host-d', notNegotiated: [{ family: 'ipv4-unicast', routes: 1, why: 'no IPv4 next hop' }] },
    ]);
    expect(lines).toBe('host-b: ipv6-unicast: 3 routes not sent (not negotiated: the peer did not offer it)\nhost-d: ipv4-unicast: 1 route not sent (no IPv4 next hop)\n');
  });
});

describe('RFC 8950: IPv4 routes with an IPv6 next hop', () => {
  const rib = () => {
    const r = new Rib({ local: { asn: 64512, routerId: '10.0.0.1' } });
    r.localAdd(parsePrefix('10.244.1.0/26'), [attr.origin(Origin.IGP), attr.asPath([])]);
    return r;
  };
  const info = { id: 'b', address: 'fd00:1::2', asn: 64512, routerId: '10.0.0.2', type: 'ibgp' as const, isRrClient: false, localAsn: 64512 };

  it('go only to a peer that takes them, in MP_REACH_NLRI with AFI 1 and no NEXT_HOP', () => {
    const r = rib();
    const without = new AdjRibOut(r, { local: r.local });
    without.addPeer({ info, nextHopSelf: { ipv4: 'fd00:1::1', ipv6: 'fd00:1::1' } });
    expect(without.fullTable('b').announce).toEqual([]);
    const withEnh = new AdjRibOut(r, { local: r.local });
    withEnh.addPeer({ info, nextHopSelf: { ipv4: 'fd00:1::1', ipv6: 'fd00:1::1' }, ipv4ExtendedNextHop: true });
    const msgs = batchMessages(withEnh.fullTable('b'), DEFAULT_WIRE_OPTIONS);
    expect(msgs).toHaveLength(1);
    const u = decodeMessage(msgs[0], DEFAULT_WIRE_OPTIONS) as UpdateMessage;
    expect(u.nlri).toEqual([]);
    expect(u.attributes.some((a) => a.type === 'next-hop')).toBe(false);
    const mp = u.attributes.find((a) => a.type === 'mp-reach');
    expect(mp?.type === 'mp-reach' && { afi: mp.reach.afi, safi: mp.reach.safi, nextHop: mp.reach.nextHop, nlri: mp.reach.nlri.map(formatPrefix) }).toEqual({
      afi: 1,
      safi: 1,
      nextHop: ['fd00:1::1'],
      nlri: ['10.244.1.0/26'],
    });
  });

  it('packRoutes: without ipv4NextHop6 IPv4 routes still need NEXT_HOP; with it, both families in MP_REACH_NLRI', () => {
    const a = [attr.origin(Origin.IGP), attr.asPath([])];
    expect(() => packRoutes({ attributes: a, announce: [parsePrefix('10.244.1.0/26')] }, DEFAULT_WIRE_OPTIONS)).toThrow(/NEXT_HOP/);
    const { messages } = packRoutes({ attributes: a, announce: [parsePrefix('10.244.1.0/26'), parsePrefix('fd00:244::/122')], ipv4NextHop6: ['fd00:1::1'], ipv6NextHop: ['fd00:1::1'] }, DEFAULT_WIRE_OPTIONS);
    const afis = messages.map((m) => (decodeMessage(m, DEFAULT_WIRE_OPTIONS) as UpdateMessage).attributes.find((x) => x.type === 'mp-reach')).map((x) => (x?.type === 'mp-reach' ? x.reach.afi : 0));
    expect(afis).toEqual([1, 2]);
  });
});

describe('the dual-stack listener', () => {
  it('an IPv4 peer seen as ::ffff:a.b.c.d is looked up as a.b.c.d; other addresses stay as they are', () => {
    expect(normaliseAddress('::ffff:10.0.0.2')).toBe('10.0.0.2');
    expect(normaliseAddress('::FFFF:10.0.0.2')).toBe('10.0.0.2');
    expect(normaliseAddress('::ffff:a00:2')).toBe('10.0.0.2');
    expect(normaliseAddress('fd00::2')).toBe('fd00::2');
    expect(normaliseAddress('10.0.0.2')).toBe('10.0.0.2');
  });

  const failing = (code: string): { transport: Transport; hosts: string[] } => {
    const hosts: string[] = [];
    return {
      hosts,
      transport: {
        dial: () => {
          throw new Error('no dials');
        },
        listen: async (host) => {
          hosts.push(host);
          if (host === '::') throw Object.assign(new Error(`listen ${code}: address family not supported :::179`), { code });
          return { port: 179, close: async () => undefined };
        },
      },
    };
  };

  it('a host without IPv6: "::" falls back to 0.0.0.0 with a warning', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    for (const code of ['EAFNOSUPPORT', 'EADDRNOTAVAIL']) {
      const { transport, hosts } = failing(code);
      const l = new Listener(() => undefined, log, { transport });
      await l.listen('::', 179);
      expect(hosts).toEqual(['::', '0.0.0.0']);
      expect(l.address).toBe('0.0.0.0');
      await l.close();
    }
    expect(lines.filter((x) => x.includes('"listener.ipv4-only"'))).toHaveLength(2);
  });

  it('any other failure (the port taken), or an explicit address, is not hidden', async () => {
    const taken = failing('EADDRINUSE');
    await expect(new Listener(() => undefined, silent, { transport: taken.transport }).listen('::', 179)).rejects.toThrow(/EADDRINUSE/);
    const { transport } = failing('EAFNOSUPPORT');
    transport.listen = async (host) => {
      throw Object.assign(new Error(`listen EADDRNOTAVAIL ${host}`), { code: 'EADDRNOTAVAIL' });
    };
    await expect(new Listener(() => undefined, silent, { transport }).listen('fd00::1', 179)).rejects.toThrow(/EADDRNOTAVAIL/);
  });

  it('the agent finds an IPv4 peer that connects as ::ffff:a.b.c.d', async () => {
    const scheduler = new ManualScheduler();
    const transport = new MemoryTransport(scheduler, '::ffff:10.0.0.1');
    const cfg = parseAgentConfig({ node: { name: 'a', asn: 64512, address: '10.0.0.1/24' }, mesh: { nodes: [{ name: 'b', address: '10.0.0.2' }] }, pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }], dataplane: { enabled: false } }, 'x');
    const agent = new Agent(cfg, silent, { controlSocket: false, scheduler, transport });
    await agent.start();
    const peer = new ScriptedPeer(transport.connectFrom('::ffff:10.0.0.2')!, { asn: 64512, id: '10.0.0.2', holdTime: 30 });
    await scheduler.runDue();
    peer.send({ open: {}, keepalive: true });
    await scheduler.runDue();
    expect(agent.entries.get('10.0.0.2')?.peer.state.name).toBe('Established');
    expect(agent.status().refusedConnections).toBe(0);
    expect(agent.status().listen.address).toBe('::');
    await agent.shutdown();
  });
});

describe('ECMP: maxPaths reaches the Loc-RIB, and a multipath-only change reaches the sink', () => {
  it('two ToRs announce the same block: the second path changes the multipath set, not the best path', async () => {
    const scheduler = new ManualScheduler();
    const transport = new MemoryTransport(scheduler, '10.0.0.1');
    const changes: Change[] = [];
    const sink: RouteSink = { apply: (c) => void changes.push(...c) };
    const cfg = parseAgentConfig(
      {
        node: { name: 'a', asn: 64512, address: '10.0.0.1/24' },
        peers: [{ name: 'tor1', address: '10.0.0.253', asn: 65001, passive: true }, { name: 'tor2', address: '10.0.0.254', asn: 65001, passive: true }],
        pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }],
        dataplane: { enabled: false },
      },
      'x',
    );
    expect(cfg.config.maxPaths).toBe(8);
    const agent = new Agent(cfg, silent, { controlSocket: false, scheduler, transport, sink });
    await agent.start();
    const tors = ['10.0.0.253', '10.0.0.254'].map((a) => new ScriptedPeer(transport.connectFrom(a)!, { asn: 65001, id: a, holdTime: 30 }));
    await scheduler.runDue();
    for (const t of tors) t.send({ open: {}, keepalive: true });
    await scheduler.runDue();
    // 10.0.0.253 has the lower router id: its path is best, and stays best when the second comes.
    tors[0].send({ update: { announce: ['10.244.7.0/26'], asPath: [65001] } });
    await scheduler.runDue();
    tors[1].send({ update: { announce: ['10.244.7.0/26'], asPath: [65001] } });
    await scheduler.runDue();
    const p = parsePrefix('10.244.7.0/26');
    expect(agent.rib.multipath(p).map((x) => x.attrs.nextHop)).toEqual(['10.0.0.253', '10.0.0.254']);
    const mine = changes.filter((c) => c.prefix === p);
    expect(mine).toHaveLength(2);
    expect(mine[1].best).toBe(mine[1].previous);
    expect(mine[1].multipath?.map((x) => x.attrs.nextHop)).toEqual(['10.0.0.253', '10.0.0.254']);
    await agent.shutdown();
  });
});

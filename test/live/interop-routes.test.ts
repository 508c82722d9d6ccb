// Interop, case 1: weft's sessions reach Established with real BIRD 2, FRR 8.4 and GoBGP 3.10 over
// iBGP and eBGP, IPv4 and IPv6 transport, with 4-octet AS numbers, and routes cross both ways with
// their attributes: weft's prefixes (communities, large communities) as the peers show them, the
// peers' own prefixes as weft's state file shows them. Over IPv6 transport both IPv4 and IPv6
// prefixes are carried (MP-BGP).
//
// One Ethernet segment: two weft speakers (AS A = 4200000001 and AS B = 4200000002) and one of each
// daemon in AS A, so every daemon has an iBGP session with weft-a and an eBGP one with weft-b, each
// over IPv4 and over IPv6 transport: 12 sessions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBird, type Bird } from '../helpers/bird.js';
import { startFrr, type Frr, type FrrPath } from '../helpers/frr.js';
import { startGobgp, type Gobgp } from '../helpers/gobgp.js';
import { gobgpGlobal, gobgpNeighbor } from '../helpers/interop.js';
import { Lab } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';
import { interopSkipReason, lan, startWeft, type Weft, type WeftAttr, type WeftPeerState } from '../helpers/weft.js';

const AS_A = 4200000001;
const AS_B = 4200000002;
const skipReason = interopSkipReason();
if (skipReason) console.warn(`interop-routes skipped: ${skipReason}`);

const ADDR = {
  wa: ['10.0.0.1', 'fd00::1'],
  wb: ['10.0.0.2', 'fd00::2'],
  bird: ['10.0.0.11', 'fd00::11'],
  frr: ['10.0.0.12', 'fd00::12'],
  gobgp: ['10.0.0.13', 'fd00::13'],
} as const;
type Daemon = 'bird' | 'frr' | 'gobgp';
const DAEMONS: readonly Daemon[] = ['bird', 'frr', 'gobgp'];

/** What each weft announces: tag 1 for weft-a, 2 for weft-b. */
function weftRoutes(tag: 1 | 2) {
  const nh = tag === 1 ? ADDR.wa : ADDR.wb;
  return {
    v4a: `10.10${tag}.1.0/24`,
    v4b: `10.10${tag}.2.0/24`,
    v6: `fd10:10${tag}::/48`,
    communities: [`65000:10${tag}`, '65000:200'],
    large: [`${tag === 1 ? AS_A : AS_B}:1:${tag}`],
    v4NextHop: nh[0],
    v6NextHop: nh[1],
  };
}

function weftConfig(tag: 1 | 2) {
  const asn = tag === 1 ? AS_A : AS_B;
  const r = weftRoutes(tag);
  const me = tag === 1 ? ADDR.wa : ADDR.wb;
  const peers = DAEMONS.flatMap((d) => [
    { name: `${d}4`, address: ADDR[d][0], asn: AS_A, localAddress: me[0], holdTime: 9, connectRetry: 1, families: ['ipv4-unicast'] },
    { name: `${d}6`, address: ADDR[d][1], asn: AS_A, localAddress: me[1], holdTime: 9, connectRetry: 1, families: ['ipv4-unicast', 'ipv6-unicast'] },
  ]);
  return {
    asn,
    routerId: me[0],
    listen: { address: '::', port: 179 },
    peers,
    announce: [
      // An explicit IPv4 next hop, so the IPv4 prefixes can go over the IPv6 sessions too.
      { prefix: r.v4a, nextHop: r.v4NextHop, communities: r.communities, largeCommunities: r.large },
      { prefix: r.v4b, nextHop: r.v4NextHop, communities: [r.communities[0]!], med: 20 },
      { prefix: r.v6, nextHop: r.v6NextHop, communities: r.communities, largeCommunities: r.large },
    ],
  };
}

/** The daemons' own prefixes: 10.11N.1.0/24 and fd11:N::/48 with community 650NN:1 / :6 and a large community. */
function daemonRoutes(d: Daemon) {
  const n = DAEMONS.indexOf(d) + 1;
  return { v4: `10.11${n}.1.0/24`, v6: `fd11:${n}::/48`, c4: [65010 + n, 1] as const, c6: [65010 + n, 6] as const, large: [AS_A, 10 + n, 1] as const };
}

function birdConf(): string {
  const r = daemonRoutes('bird');
  const me = ADDR.bird;
  const proto = (name: string, nb: string, as: number, v6: boolean) => {
    const ibgp = as === AS_A;
    return `protocol bgp ${name} from wt {
  neighbor ${nb} as ${as};
  source address ${v6 ? me[1] : me[0]};
  ${ibgp ? 'direct;' : ''}
  ipv4 { import all; export filter ex4; ${v6 ? `next hop address ${me[0]};` : ''} };
  ${v6 ? 'ipv6 { import all; export filter ex6; };' : ''}
}`;
  };
  return `
protocol device {}
protocol static st4 { ipv4; route ${r.v4} blackhole; }
protocol static st6 { ipv6; route ${r.v6} blackhole; }
filter ex4 {
  if source != RTS_STATIC then reject;
  bgp_community.add((${r.c4.join(',')}));
  bgp_large_community.add((${r.large.join(',')}));
  accept;
}
filter ex6 {
  if source != RTS_STATIC then reject;
  bgp_community.add((${r.c6.join(',')}));
  accept;
}
template bgp wt {
  local as ${AS_A};
  hold time 9;
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 5;
}
${proto('wa4', ADDR.wa[0], AS_A, false)}
${proto('wa6', ADDR.wa[1], AS_A, true)}
${proto('wb4', ADDR.wb[0], AS_B, false)}
${proto('wb6', ADDR.wb[1], AS_B, true)}
`;
}

function frrConf(): string {
  const r = daemonRoutes('frr');
  const me = ADDR.frr;
  const nbs = [
    [ADDR.wa[0], AS_A, me[0]],
    [ADDR.wa[1], AS_A, me[1]],
    [ADDR.wb[0], AS_B, me[0]],
    [ADDR.wb[1], AS_B, me[1]],
  ] as const;
  return `frr defaults traditional
hostname frr
route-map own4 permit 10
 set community ${r.c4.join(':')}
 set large-community ${r.large.join(':')}
exit
route-map own6 permit 10
 set community ${r.c6.join(':')}
exit
router bgp ${AS_A}
 bgp router-id ${me[0]}
 no bgp ebgp-requires-policy
 no bgp network import-check
${nbs.map(([a, as, src]) => ` neighbor ${a} remote-as ${as}\n neighbor ${a} update-source ${src}\n neighbor ${a} timers connect 1`).join('\n')}
 address-family ipv4 unicast
  network ${r.v4} route-map own4
 exit-address-family
 address-family ipv6 unicast
  network ${r.v6} route-map own6
  neighbor ${ADDR.wa[1]} activate
  neighbor ${ADDR.wb[1]} activate
 exit-address-family
`;
}

function gobgpToml(): string {
  const me = ADDR.gobgp;
  const nb = (address: string, peerAs: number, localAddress: string, ipv6: boolean) => gobgpNeighbor({ address, peerAs, localAddress, ipv6 });
  return `${gobgpGlobal(AS_A, me[0])}${nb(ADDR.wa[0], AS_A, me[0], false)}${nb(ADDR.wa[1], AS_A, me[1], true)}${nb(ADDR.wb[0], AS_B, me[0], false)}${nb(ADDR.wb[1], AS_B, me[1], true)}`;
}

/**
 * The paths the peers should show for weft's prefixes: from each weft (tag 1 weft-a, 2 weft-b), its
 * IPv4 prefix over IPv4 and over IPv6 transport and its IPv6 prefix over IPv6 transport.
 */
function weftPaths() {
  return ([[1, 'wa'], [2, 'wb']] as const).flatMap(([tag, w]) => {
    const r = weftRoutes(tag);
    const asn = tag === 1 ? AS_A : AS_B;
    const cases = [['ipv4', r.v4a, ADDR[w][0]], ['ipv4', r.v4a, ADDR[w][1]], ['ipv6', r.v6, ADDR[w][1]]] as const;
    return cases.map(([afi, prefix, from]) => ({ tag, r, asn, afi, prefix, from }));
  });
}

// ------------------------------------------------------------------ reading weft's received routes

function attrOf<T extends WeftAttr>(attrs: readonly WeftAttr[], type: string): T | undefined {
  return attrs.find((a) => a.type === type) as T | undefined;
}

function receivedRoute(p: WeftPeerState | undefined, prefix: string) {
  const r = p?.received.find((x) => x.prefix === prefix);
  if (!r) return undefined;
  const attrs = r.attributes.attributes;
  const asPath = attrOf<{ type: string; segments: { asns: number[] }[] }>(attrs, 'as-path');
  return {
    asPath: asPath?.segments.flatMap((s) => s.asns) ?? [],
    nextHop: attrOf<{ type: string; nextHop: string }>(attrs, 'next-hop')?.nextHop,
    mpNextHop: r.attributes.nextHop,
    communities: (attrOf<{ type: string; communities: unknown[] }>(attrs, 'communities')?.communities ?? []).map(communityText),
    large: (attrOf<{ type: string; communities: unknown[] }>(attrs, 'large-communities')?.communities ?? []).map(communityText),
    localPref: attrOf<{ type: string; localPref: number }>(attrs, 'local-pref')?.localPref,
  };
}

/** A community as "ASN:VALUE" / "G:L1:L2", whether weft's JSON view gives numbers, tuples or text. */
function communityText(c: unknown): string {
  if (typeof c === 'number') return `${Math.floor(c / 65536)}:${c % 65536}`;
  if (Array.isArray(c)) return c.join(':');
  if (c !== null && typeof c === 'object') return Object.values(c as Record<string, unknown>).join(':');
  return String(c);
}

describe.skipIf(skipReason !== undefined)('interop: routes over iBGP/eBGP, IPv4/IPv6 transport, with BIRD, FRR, GoBGP', () => {
  let lab: Lab;
  let wa: Weft;
  let wb: Weft;
  let bird: Bird;
  let frr: Frr;
  let gobgp: Gobgp;
  let stopKeepAwake = () => {};

  beforeAll(async () => {
    lab = Lab.create();
    const ns = await lan(lab, {
      wa: [`${ADDR.wa[0]}/24`, `${ADDR.wa[1]}/64`],
      wb: [`${ADDR.wb[0]}/24`, `${ADDR.wb[1]}/64`],
      bird: [`${ADDR.bird[0]}/24`, `${ADDR.bird[1]}/64`],
      frr: [`${ADDR.frr[0]}/24`, `${ADDR.frr[1]}/64`],
      gobgp: [`${ADDR.gobgp[0]}/24`, `${ADDR.gobgp[1]}/64`],
    });
    [bird, frr, gobgp, wa, wb] = await Promise.all([
      startBird(lab, ns.bird!, { routerId: ADDR.bird[0], config: birdConf() }),
      startFrr(lab, ns.frr!, { bgpdConf: frrConf() }),
      startGobgp(lab, ns.gobgp!, { toml: gobgpToml(), logLevel: 'warn' }),
      startWeft(lab, ns.wa!, { config: weftConfig(1) }),
      startWeft(lab, ns.wb!, { config: weftConfig(2) }),
    ]);
    stopKeepAwake = bird.keepAwake(100);
    const g = daemonRoutes('gobgp');
    await gobgp.gobgp('global', 'rib', 'add', '-a', 'ipv4', g.v4, 'community', g.c4.join(':'), 'large-community', g.large.join(':'));
    await gobgp.gobgp('global', 'rib', 'add', '-a', 'ipv6', g.v6, 'community', g.c6.join(':'));
  });

  afterAll(async () => {
    stopKeepAwake();
    const problems = await lab?.cleanup();
    expect(problems ?? []).toEqual([]);
  });

  it('all 12 sessions reach Established, at both ends, with 4-octet AS numbers', async () => {
    const daemonState = async (d: Daemon, w: 'wa' | 'wb', v: 0 | 1): Promise<string | undefined> => {
      const addr = ADDR[w][v];
      if (d === 'bird') return bird.protocolState(`${w}${v === 0 ? 4 : 6}`);
      if (d === 'frr') return frr.neighborState(addr);
      const s = await gobgp.neighborState(addr);
      return s === 6 ? 'Established' : String(s);
    };
    for (const [w, weft] of [['wa', wa], ['wb', wb]] as const) {
      for (const d of DAEMONS) {
        for (const v of [0, 1] as const) {
          await weft.waitPeerState(ADDR[d][v], 'Established', 30_000);
          await waitFor(async () => (await daemonState(d, w, v)) === 'Established', {
            what: `${d} session to ${w} ${ADDR[w][v]} Established`,
            timeoutMs: 15_000,
          });
        }
      }
      const est = weft.logEvents('session.established');
      for (const d of DAEMONS) {
        for (const v of [0, 1] as const) {
          const e = est.find((x) => x.peer === `${d}${v === 0 ? 4 : 6}`);
          expect(e, `${w} session.established for ${d}${v === 0 ? 4 : 6}`).toBeDefined();
          expect(e?.peerAs).toBe(AS_A);
          expect(e?.fourOctetAs).toBe(true);
          expect(e?.families).toEqual(v === 0 ? ['1/1'] : ['1/1', '2/1']);
        }
      }
    }
    // The peers' view of the AS numbers.
    expect(await bird.birdc('show', 'protocols', 'all', 'wb6')).toMatch(new RegExp(`Neighbor AS:\\s+${AS_B}`));
    const fn = await frr.vtyshJson<Record<string, { remoteAs: number; localAs: number; neighborCapabilities?: Record<string, unknown> }>>(
      `show bgp neighbors ${ADDR.wb[1]} json`,
    );
    expect(fn[ADDR.wb[1]]?.remoteAs).toBe(AS_B);
    expect(fn[ADDR.wb[1]]?.neighborCapabilities?.['4byteAs']).toBe('advertisedAndReceived');
    const gn = (await gobgp.neighbors()).find((n) => n.conf?.neighbor_address === ADDR.wb[1]);
    expect(gn?.state?.peer_asn ?? gn?.conf?.peer_asn).toBe(AS_B);
  });

  it('BIRD shows weft\'s prefixes with AS path, next hop, communities and large communities (IPv4 and IPv6)', async () => {
    for (const [tag, w] of [[1, 'wa'], [2, 'wb']] as const) {
      const r = weftRoutes(tag);
      const asn = tag === 1 ? AS_A : AS_B;
      for (const [proto, prefix] of [[`${w}4`, r.v4a], [`${w}6`, r.v4a], [`${w}6`, r.v6]] as const) {
        const text = await waitFor(
          async () => {
            const t = await bird.birdc('show', 'route', 'all', prefix, 'protocol', proto);
            return t.includes(prefix) ? t : undefined;
          },
          { what: `BIRD route ${prefix} from ${proto}`, timeoutMs: 15_000, diagnose: () => bird.birdc('show', 'route', 'all') },
        );
        expect(text).toMatch(new RegExp(`BGP\\.as_path:${tag === 1 ? '\\s*\\n' : ` ${asn}\\n`}`));
        expect(text).toContain(`BGP.next_hop: ${prefix.includes(':') ? r.v6NextHop : r.v4NextHop}`);
        expect(text).toContain(`BGP.community: (65000,10${tag}) (65000,200)`);
        expect(text).toContain(`BGP.large_community: (${asn}, 1, ${tag})`);
        if (tag === 1) expect(text).toContain('BGP.local_pref: 100');
      }
    }
    const b = await bird.birdc('show', 'route', 'all', weftRoutes(2).v4b, 'protocol', 'wb4');
    expect(b).toContain('BGP.med: 20');
    expect(b).toContain('BGP.community: (65000,102)');
    expect(b).not.toContain('BGP.large_community');
  });

  it('FRR shows weft\'s prefixes with AS path, next hop, communities and large communities (IPv4 and IPv6)', async () => {
    type Detail = { paths?: (FrrPath & { aspath?: { string?: string }; community?: { string?: string }; largeCommunity?: { string?: string }; peer?: { peerId?: string }; nexthops?: { ip?: string }[] })[] };
    for (const { tag, r, asn, afi, prefix, from } of weftPaths()) {
      const path = await waitFor(
        async () => {
          const j = await frr.vtyshJson<Detail>(`show bgp ${afi} unicast ${prefix} json`);
          return j.paths?.find((p) => p.peer?.peerId === from);
        },
        { what: `FRR path for ${prefix} from ${from}`, timeoutMs: 15_000, diagnose: () => frr.vtysh(`show bgp ${afi} unicast ${prefix}`) },
      );
      expect(path.aspath?.string).toBe(tag === 1 ? 'Local' : String(asn));
      expect(path.nexthops?.[0]?.ip).toBe(afi === 'ipv4' ? r.v4NextHop : r.v6NextHop);
      expect(path.community?.string).toBe(`65000:10${tag} 65000:200`);
      expect(path.largeCommunity?.string).toBe(`${asn}:1:${tag}`);
      expect(path.valid).toBe(true);
    }
  });

  it('GoBGP shows weft\'s prefixes with AS path, next hop, communities and large communities (IPv4 and IPv6)', async () => {
    type GoPath = { nlri?: { prefix?: string }; 'neighbor-ip'?: string; attrs?: { type: number; [k: string]: unknown }[] };
    for (const { tag, r, asn, afi, prefix, from } of weftPaths()) {
      const path = await waitFor(
        async () => {
          const j = (await gobgp.gobgp('global', 'rib', '-a', afi, prefix, '-j')) as Record<string, GoPath[]> | null;
          return Object.values(j ?? {})
            .flat()
            .find((p) => p['neighbor-ip'] === from);
        },
        { what: `GoBGP path for ${prefix} from ${from}`, timeoutMs: 15_000, diagnose: async () => JSON.stringify(await gobgp.gobgp('global', 'rib', '-a', afi, prefix, '-j')) },
      );
      const byType = (t: number) => path.attrs?.find((a) => a.type === t);
      // BGP attribute type codes: 2 AS_PATH, 3 NEXT_HOP, 8 COMMUNITIES, 14 MP_REACH, 32 LARGE_COMMUNITY.
      const asPath = byType(2) as { as_paths?: { asns?: number[] }[] } | undefined;
      expect((asPath?.as_paths ?? []).flatMap((s) => s.asns ?? [])).toEqual(tag === 1 ? [] : [asn]);
      const nh = afi === 'ipv4' ? (byType(3) as { nexthop?: string } | undefined)?.nexthop : (byType(14) as { nexthop?: string } | undefined)?.nexthop;
      expect(nh).toBe(afi === 'ipv4' ? r.v4NextHop : r.v6NextHop);
      expect((byType(8) as { communities?: number[] } | undefined)?.communities).toEqual([65000 * 65536 + 100 + tag, 65000 * 65536 + 200]);
      expect((byType(32) as { value?: unknown[] } | undefined)?.value).toEqual([{ ASN: asn, LocalData1: 1, LocalData2: tag }]);
    }
  });

  it("the daemons' own prefixes arrive in weft with their attributes (IPv4 and IPv6 over IPv6 transport)", async () => {
    for (const [w, weft] of [['wa', wa], ['wb', wb]] as const) {
      const ibgp = w === 'wa';
      for (const d of DAEMONS) {
        const r = daemonRoutes(d);
        for (const [v, prefix] of [[0, r.v4], [1, r.v4], [1, r.v6]] as const) {
          const route = await waitFor(() => receivedRoute(weft.peer(ADDR[d][v]), prefix), {
            what: `${w} received ${prefix} from ${d} over ${ADDR[d][v]}`,
            timeoutMs: 15_000,
            diagnose: () => JSON.stringify(weft.peer(ADDR[d][v])?.received ?? null),
          });
          const v6 = prefix.includes(':');
          expect(route.asPath, `${d} ${prefix} AS path at ${w}`).toEqual(ibgp ? [] : [AS_A]);
          if (v6) expect(route.mpNextHop?.[0], `${d} ${prefix} next hop`).toBe(ADDR[d][1]);
          else if (d === 'gobgp' && v === 1) {
            // GoBGP sends IPv4 NLRI over an IPv6 session in MP_REACH_NLRI with its IPv6 address as
            // next hop (RFC 8950 style) although no Extended Next Hop capability was negotiated.
            expect(route.nextHop).toBeUndefined();
            expect(route.mpNextHop?.[0], `${d} ${prefix} next hop`).toBe(ADDR[d][1]);
          } else expect(route.nextHop, `${d} ${prefix} next hop`).toBe(ADDR[d][0]);
          const c = v6 ? r.c6 : r.c4;
          expect(route.communities, `${d} ${prefix} communities`).toEqual([c.join(':')]);
          if (!v6) expect(route.large, `${d} ${prefix} large communities`).toEqual([r.large.join(':')]);
          if (ibgp) expect(route.localPref).toBe(100);
        }
      }
    }
  });
});

// Interop, case 5: route refresh. FRR (`clear bgp ipv4 unicast ADDR soft in`) and BIRD (`reload in
// PROTO`) ask weft for its routes again with a ROUTE-REFRESH; weft answers by re-sending them (with
// Enhanced Route Refresh negotiated: BoRR, the UPDATEs, EoRR). weft's state file counts the answer,
// the peers still have the routes afterwards, and a capture shows the exchange.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBird, type Bird } from '../helpers/bird.js';
import { startFrr, type Frr } from '../helpers/frr.js';
import { birdToWeft, frrToWeft, lan24 } from '../helpers/interop.js';
import { Lab } from '../helpers/netns.js';
import { capture, dissect, type Capture, type TsharkPacket } from '../helpers/tshark.js';
import { waitFor } from '../helpers/wait.js';
import { interopSkipReason, startWeft, type Weft } from '../helpers/weft.js';

const AS_W = 4200000001;
const AS_D = 4200000002;
const skipReason = interopSkipReason(['ip', 'bird', 'birdc', 'vtysh', 'tcpdump', 'tshark', '/usr/lib/frr/bgpd']);
if (skipReason) console.warn(`interop-route-refresh skipped: ${skipReason}`);

const W = '10.0.0.1';
const ADDR = { bird: '10.0.0.11', frr: '10.0.0.12' } as const;
type Daemon = keyof typeof ADDR;
const DAEMONS = Object.keys(ADDR) as Daemon[];
const PREFIXES = ['10.101.1.0/24', '10.101.2.0/24', '10.101.3.0/24'];

const weftConfig = {
  asn: AS_W,
  routerId: W,
  peers: DAEMONS.map((d) => ({ name: d, address: ADDR[d], asn: AS_D, holdTime: 9, connectRetry: 1 })),
  announce: PREFIXES.map((prefix, i) => ({ prefix, communities: [`65000:${i + 1}`] })),
};

const birdConf = birdToWeft({ as: AS_D, weft: W, weftAs: AS_W });
const frrConf = frrToWeft({ as: AS_D, routerId: ADDR.frr, weft: W, weftAs: AS_W });

/** One BGP message from a capture, with who sent it. */
interface WireMsg {
  src: string;
  dst: string;
  type: number;
  /** ROUTE-REFRESH subtype (0 request, 1 BoRR, 2 EoRR). */
  subtype?: number;
  /** IPv4 NLRI of an UPDATE: the prefix addresses (tshark's bgp.nlri_prefix has no length). */
  prefixes: string[];
}

function flat(v: unknown): unknown[] {
  return Array.isArray(v) ? v.flatMap(flat) : [v];
}

/** Every string value under keys named `key` anywhere in a tshark JSON tree. */
function valuesOf(tree: unknown, key: string): string[] {
  if (tree === null || typeof tree !== 'object') return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(tree as Record<string, unknown>)) {
    if (k === key) out.push(...flat(v).filter((x): x is string => typeof x === 'string'));
    else out.push(...flat(v).flatMap((x) => valuesOf(x, key)));
  }
  return out;
}

function wireMessages(packets: readonly TsharkPacket[]): WireMsg[] {
  const out: WireMsg[] = [];
  for (const p of packets) {
    const ip = p._source.layers.ip as Record<string, string> | undefined;
    const src = ip?.['ip.src'] ?? '';
    const dst = ip?.['ip.dst'] ?? '';
    for (const m of flat(p._source.layers.bgp)) {
      if (m === null || typeof m !== 'object') continue;
      const type = Number((m as Record<string, unknown>)['bgp.type']);
      const sub = valuesOf(m, 'bgp.route_refresh.subtype')[0];
      out.push({ src, dst, type, subtype: sub === undefined ? undefined : Number(sub), prefixes: valuesOf(m, 'bgp.nlri_prefix') });
    }
  }
  return out;
}

describe.skipIf(skipReason !== undefined)('interop: ROUTE-REFRESH from FRR and BIRD answered by weft', () => {
  let lab: Lab;
  let weft: Weft;
  let bird: Bird;
  let frr: Frr;
  let cap: Capture;

  const birdHasAll = async () => {
    const t = await bird.birdc('show', 'route', 'protocol', 'weft');
    return PREFIXES.every((p) => t.includes(p));
  };
  const frrHasAll = async () => {
    const r = await frr.bgpRoutes('ipv4');
    return PREFIXES.every((p) => r[p]?.some((x) => x.valid));
  };

  beforeAll(async () => {
    lab = Lab.create();
    const ns = await lan24(lab, { weft: W, ...ADDR });
    cap = await capture(lab, ns.weft!, 'eth0', 'tcp port 179');
    [bird, frr, weft] = await Promise.all([
      startBird(lab, ns.bird!, { routerId: ADDR.bird, config: birdConf }),
      startFrr(lab, ns.frr!, { bgpdConf: frrConf }),
      startWeft(lab, ns.weft!, { config: weftConfig }),
    ]);
  });

  afterAll(async () => {
    await cap?.stop().catch(() => undefined);
    expect((await lab?.cleanup()) ?? []).toEqual([]);
  });

  it('sessions up with (enhanced) route refresh negotiated, routes at both peers', async () => {
    for (const d of DAEMONS) await weft.waitPeerState(ADDR[d], 'Established', 30_000);
    for (const d of DAEMONS) expect(weft.logEvents('session.established', d).at(-1)?.routeRefresh).toBe(true);
    await waitFor(birdHasAll, { what: "BIRD has weft's 3 prefixes", timeoutMs: 15_000, diagnose: () => bird.birdc('show', 'route') });
    await waitFor(frrHasAll, { what: "FRR has weft's 3 prefixes", timeoutMs: 15_000, diagnose: () => frr.vtysh('show bgp ipv4 unicast') });
    const n = (await frr.vtyshJson<Record<string, { neighborCapabilities?: Record<string, unknown> }>>(`show bgp neighbors ${W} json`))[W];
    console.log(`route refresh: FRR capabilities routeRefresh=${JSON.stringify(n?.neighborCapabilities?.routeRefresh)} enhancedRouteRefresh=${JSON.stringify(n?.neighborCapabilities?.enhancedRouteRefresh)}`);
    expect(n?.neighborCapabilities?.routeRefresh).toBeDefined();
  });

  it('FRR `clear bgp ipv4 unicast 10.0.0.1 soft in`: weft answers, FRR keeps the routes', async () => {
    expect(weft.peer(ADDR.frr)?.routeRefreshesAnswered).toBe(0);
    await frr.vtysh(`clear bgp ipv4 unicast ${W} soft in`);
    await waitFor(() => weft.peer(ADDR.frr)?.routeRefreshesAnswered === 1, {
      what: 'weft to answer FRR route refresh',
      timeoutMs: 10_000,
      diagnose: () => weft.logTail(),
    });
    expect(weft.logEvents('session.route-refresh', 'frr').map((e) => [e.afi, e.safi, e.subtype])).toEqual([[1, 1, 0]]);
    await waitFor(frrHasAll, { what: "FRR still has weft's prefixes", timeoutMs: 10_000, diagnose: () => frr.vtysh('show bgp ipv4 unicast') });
    expect(weft.peer(ADDR.frr)?.state).toBe('Established');
    expect(weft.peer(ADDR.frr)?.counters.establishedTransitions).toBe(1);
  });

  it('BIRD `reload in weft`: weft answers, BIRD keeps the routes', async () => {
    expect(weft.peer(ADDR.bird)?.routeRefreshesAnswered).toBe(0);
    const stopKeepAwake = bird.keepAwake(50);
    try {
      const out = await bird.birdc('reload', 'in', 'weft');
      expect(out).toMatch(/reload/i);
      await waitFor(() => weft.peer(ADDR.bird)?.routeRefreshesAnswered === 1, {
        what: 'weft to answer BIRD route refresh',
        timeoutMs: 10_000,
        diagnose: () => weft.logTail(),
      });
      await waitFor(birdHasAll, { what: "BIRD still has weft's prefixes", timeoutMs: 10_000 });
    } finally {
      stopKeepAwake();
    }
    expect(weft.logEvents('session.route-refresh', 'bird').map((e) => [e.afi, e.safi, e.subtype])).toEqual([[1, 1, 0]]);
    expect(weft.peer(ADDR.bird)?.counters.establishedTransitions).toBe(1);
  });

  it('the capture shows each ROUTE-REFRESH and weft re-sending its routes after it', async () => {
    const msgs = wireMessages(await dissect(await cap.stop()));
    for (const d of DAEMONS) {
      const between = msgs.filter((m) => (m.src === ADDR[d] && m.dst === W) || (m.src === W && m.dst === ADDR[d]));
      const rr = between.findIndex((m) => m.src === ADDR[d] && m.type === 5 && (m.subtype ?? 0) === 0);
      expect(rr, `ROUTE-REFRESH request from ${d} in the capture`).toBeGreaterThanOrEqual(0);
      const after = between.slice(rr + 1).filter((m) => m.src === W && m.type !== 4);
      const sentPrefixes = after.filter((m) => m.type === 2).flatMap((m) => m.prefixes);
      expect(new Set(sentPrefixes), `prefixes weft re-sent to ${d}`).toEqual(new Set(PREFIXES.map((p) => p.split('/')[0])));
      console.log(`route refresh: ${d} -> weft ROUTE-REFRESH, weft -> ${d}: ${after.map((m) => (m.type === 5 ? `RR/${String(m.subtype)}` : m.type === 2 ? `UPDATE(${m.prefixes.join(',')})` : `type ${m.type}`)).join(' ')}`);
      // Both BIRD and FRR negotiate Enhanced Route Refresh (RFC 7313): the UPDATEs come between
      // BoRR (subtype 1) and EoRR (subtype 2).
      expect(after.filter((m) => m.type === 5).map((m) => m.subtype)).toEqual([1, 2]);
      expect(after[0]?.subtype).toBe(1);
      expect(after.at(-1)?.subtype).toBe(2);
    }
  });
});

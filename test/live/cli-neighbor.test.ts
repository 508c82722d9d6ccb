// The daily CLI against a real agent and real BIRD peers, on one bridge (10.0.0.0/24):
//
//   node1  10.0.0.11  weft agent, AS 64512, block 10.244.11.0/26
//   b1     10.0.0.1   BIRD 2, AS 65001, external peer "b1": announces 10.244.50.0/26
//   b2     10.0.0.2   BIRD 2, AS 65002, external peer "b2": announces 10.244.50.0/26 (AS 65002 prepended
//                     once, so b1's path wins on AS_PATH length) and 10.244.52.0/26
//   g3     10.0.0.3   GoBGP 3, AS 65003, external peer "g3": its message counters against weft's
//
// Checked: `weft neighbor b1 --json` shows what BIRD reports for the same session (`birdc show
// protocols all b1`: state, hold time, the capabilities each side sent, routes both ways) and
// message counters that add up; `weft routes PREFIX --all-paths` shows both candidates of the
// prefix both peers send, one best with its reason; `--received` / `--advertised` list what BIRD
// exported and imported; after `birdc disable b1 "..."` weft shows the Cease it received as the
// last NOTIFICATION received, and `weft status` / `weft neighbor b1` exit 1; the message counters of
// `weft neighbor g3` are GoBGP's own counters of the same session, the other way round.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NeighborView, PathView } from '../../src/agent/control/protocol.js';
import { agentConfig, startAgent, type WeftAgent } from '../helpers/agent.js';
import { startBird, type Bird } from '../helpers/bird.js';
import { startGobgp, type Gobgp } from '../helpers/gobgp.js';
import { gobgpGlobal, gobgpNeighbor } from '../helpers/interop.js';
import { run } from '../helpers/exec.js';
import { Lab } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';
import { interopSkipReason, lan } from '../helpers/weft.js';

const skipReason = interopSkipReason(['ip', 'bird', 'birdc', 'gobgpd', 'gobgp']);
if (skipReason) console.warn(`cli-neighbor skipped: ${skipReason}`);

const NODE = '10.0.0.11';
const BLOCK = '10.244.11.0/26';
const SHARED = '10.244.50.0/26';
const B2_ONLY = '10.244.52.0/26';
const G3 = { address: '10.0.0.3', asn: 65003 } as const;
const B = { b1: { address: '10.0.0.1', asn: 65001, routes: [SHARED] }, b2: { address: '10.0.0.2', asn: 65002, routes: [SHARED, B2_ONLY] } } as const;

// b2 makes its path to SHARED one AS longer: without it both paths are equal and both best (ECMP).
const exportFilter = (name: 'b1' | 'b2') =>
  name === 'b2' ? `filter ex { if source != RTS_STATIC then reject; if net = ${SHARED} then bgp_path.prepend(65002); accept; }` : 'filter ex { if source != RTS_STATIC then reject; accept; }';

const birdConf = (name: 'b1' | 'b2') => `protocol device {}
${exportFilter(name)}
protocol static st {
  ipv4;
${B[name].routes.map((p) => `  route ${p} blackhole;`).join('\n')}
}
protocol bgp weft {
  local ${B[name].address} as ${B[name].asn};
  neighbor ${NODE} as 64512;
  hold time 9;
  connect retry time 1;
  error wait time 1, 2;
  ipv4 { import all; export filter ex; };
}
`;

/** The lines of `birdc show protocols all weft` we compare with. */
function birdSession(text: string) {
  const line = (re: RegExp) => text.match(re)?.[1]?.trim();
  return {
    state: line(/BGP state:\s+(\S+)/),
    holdTime: Number(line(/Hold timer:\s+[\d.]+\/(\d+)/)),
    keepalive: Number(line(/Keepalive timer:\s+[\d.]+\/(\d+)/)),
    imported: Number(line(/Routes:\s+(\d+) imported/)),
    exported: Number(line(/Routes:\s+\d+ imported, (?:\d+ filtered, )?(\d+) exported/)),
    local: text.match(/Local capabilities\n([\s\S]*?)\n\s+Neighbor capabilities/)?.[1] ?? '',
    neighbor: text.match(/Neighbor capabilities\n([\s\S]*?)\n\s+Session:/)?.[1] ?? '',
    lastError: line(/Last error:\s+(.*)/),
  };
}

describe.skipIf(skipReason !== undefined)('the daily CLI against a real agent and BIRD peers', () => {
  let lab: Lab;
  let ns: Record<string, string>;
  const bird: Record<string, Bird> = {};
  let agent: WeftAgent;
  let gobgp: Gobgp;
  const diagnose = () => agent?.logTail(20) ?? '';

  const cliJson = async <T>(args: string[], okCodes = [0]): Promise<T> => JSON.parse((await agent.cliRun([...args, '--json'], okCodes)).stdout) as T;

  beforeAll(async () => {
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
    lab = Lab.create();
    ns = await lan(lab, { node1: [`${NODE}/24`], b1: [`${B.b1.address}/24`], b2: [`${B.b2.address}/24`], g3: [`${G3.address}/24`] });
    for (const name of ['b1', 'b2'] as const) bird[name] = await startBird(lab, ns[name], { routerId: B[name].address, config: birdConf(name) });
    gobgp = await startGobgp(lab, ns.g3, { toml: `${gobgpGlobal(G3.asn, G3.address)}${gobgpNeighbor({ address: NODE, peerAs: 64512 })}`, logLevel: 'warn' });
    const config = agentConfig('node1', `${NODE}/24`, {
      peers: [
        ...(['b1', 'b2'] as const).map((name) => ({ name, address: B[name].address, asn: B[name].asn, holdTime: 9, connectRetry: 1 })),
        { name: 'g3', address: G3.address, asn: G3.asn, holdTime: 9, connectRetry: 1 },
      ],
      blocks: [BLOCK],
    });
    agent = await startAgent(lab, ns.node1, { name: 'node1', config });
    for (const name of ['b1', 'b2'] as const) await agent.waitPeer(name, (p) => p.state === 'Established' && p.accepted === B[name].routes.length, 'Established with its routes');
    await agent.waitPeer('g3', (p) => p.state === 'Established', 'Established');
  }, 120_000);

  afterAll(async () => {
    const problems = await lab?.cleanup();
    expect(problems ?? []).toEqual([]);
  });

  it('weft neighbor b1 --json agrees with birdc show protocols all: state, timers, capabilities, routes both ways', async () => {
    const b = await waitFor(
      async () => {
        const s = birdSession(await bird.b1.birdc('show', 'protocols', 'all', 'weft'));
        return s.state === 'Established' && s.exported === 1 && s.imported >= 2 ? s : undefined;
      },
      { what: 'BIRD b1 Established, 1 route exported, weft routes imported', timeoutMs: 20_000, intervalMs: 200, diagnose },
    );
    const n = await cliJson<NeighborView>(['neighbor', 'b1']);
    console.log(`cli-neighbor: birdc show protocols all weft (b1):\n${await bird.b1.birdc('show', 'protocols', 'all', 'weft')}\nweft neighbor b1:\n${(await agent.cliRun(['neighbor', 'b1'])).stdout}`);
    expect(n).toMatchObject({ id: 'b1', address: B.b1.address, state: 'Established', asn: 65001, localAs: 64512, peerRouterId: B.b1.address, kind: 'external' });
    expect(n.connection).toMatchObject({ remoteAddress: B.b1.address, localAddress: NODE });
    expect([n.connection!.localPort, n.connection!.remotePort]).toContain(179);
    // Timers: both ends configured 9 s; BIRD's negotiated hold time is the session's.
    expect(n.timers.negotiatedHoldTime).toBe(b.holdTime);
    expect(n.timers.negotiatedKeepaliveTime).toBe(b.keepalive);
    // Capabilities: BIRD's "Neighbor capabilities" are what weft sent, its "Local capabilities" what weft received.
    const neg = n.capabilities.negotiated!;
    expect(neg.families).toEqual(['ipv4-unicast']);
    expect(neg.fourOctetAs).toBe(true);
    expect(b.neighbor).toMatch(/4-octet AS numbers/);
    expect(b.local).toMatch(/4-octet AS numbers/);
    expect(neg.routeRefresh).toBe(/Route refresh/.test(b.local) && /Route refresh/.test(b.neighbor));
    expect(neg.enhancedRouteRefresh).toBe(/Enhanced refresh/.test(b.local) && /Enhanced refresh/.test(b.neighbor));
    expect(n.capabilities.received!.some((c) => c === 'route-refresh')).toBe(/Route refresh/.test(b.local));
    expect(n.capabilities.sent.some((c) => c.startsWith('graceful-restart'))).toBe(/Graceful restart/.test(b.neighbor));
    expect(neg.gracefulRestart.peer !== undefined).toBe(/Graceful restart/.test(b.local));
    // Routes: what BIRD exported is what weft accepted; what BIRD imported is what weft advertised.
    expect(n.prefixes['ipv4-unicast'].accepted).toBe(b.exported);
    expect(n.prefixes['ipv4-unicast'].received).toBe(b.exported);
    expect(n.prefixes['ipv4-unicast'].advertised).toBe(b.imported);
    // Counters add up: one OPEN each way, at least one UPDATE and KEEPALIVE each way, no NOTIFICATION yet.
    expect(n.messages.in).toMatchObject({ OPEN: 1, NOTIFICATION: 0 });
    expect(n.messages.out).toMatchObject({ OPEN: 1, NOTIFICATION: 0 });
    for (const dir of [n.messages.in, n.messages.out]) {
      expect(dir.UPDATE).toBeGreaterThanOrEqual(1);
      expect(dir.KEEPALIVE).toBeGreaterThanOrEqual(1);
      expect(dir.total).toBe(dir.OPEN + dir.UPDATE + dir.NOTIFICATION + dir.KEEPALIVE + dir['ROUTE-REFRESH']);
    }
    expect(n.messages.bytesIn).toBeGreaterThan(0);
  });

  it('weft neighbor g3: the message counters are GoBGP\'s counters of the same session, the other way round', async () => {
    type Counts = Record<'open' | 'update' | 'notification' | 'keepalive' | 'refresh' | 'total', number | undefined>;
    type G = { state?: { session_state?: number; messages?: { received?: Counts; sent?: Counts } } };
    const c = (x: number | undefined) => x ?? 0; // GoBGP's JSON leaves zero counters out
    // GoBGP is read before and after weft: OPEN, UPDATE and NOTIFICATION counts must be the same in
    // all three samples, and weft's KEEPALIVE counts (one every 3 s each way) must lie between
    // GoBGP's two readings. Retried while an UPDATE or OPEN is still on its way.
    const gobgpCounts = async () => ((await gobgp.gobgp('neighbor', NODE, '-j')) as G).state?.messages;
    const pair = await waitFor(
      async () => {
        const g1 = await gobgpCounts();
        const w = (await cliJson<NeighborView>(['neighbor', 'g3'])).messages;
        const g2 = await gobgpCounts();
        if (!g1?.sent || !g1.received || !g2?.sent || !g2.received) return undefined;
        const exact = (['open', 'update', 'notification'] as const).every(
          (k) => c(g1.sent![k]) === c(g2.sent![k]) && c(g1.received![k]) === c(g2.received![k]),
        );
        const same =
          exact &&
          w.in.OPEN === c(g1.sent.open) && w.in.UPDATE === c(g1.sent.update) && w.in.NOTIFICATION === c(g1.sent.notification) &&
          w.out.OPEN === c(g1.received.open) && w.out.UPDATE === c(g1.received.update) && w.out.NOTIFICATION === c(g1.received.notification) &&
          c(g1.sent.keepalive) <= w.in.KEEPALIVE && w.in.KEEPALIVE <= c(g2.sent.keepalive) &&
          c(g1.received.keepalive) <= w.out.KEEPALIVE && w.out.KEEPALIVE <= c(g2.received.keepalive);
        return same ? { g: g1, w } : undefined;
      },
      { what: "weft's counters for g3 equal GoBGP's (reversed)", timeoutMs: 30_000, intervalMs: 100, diagnose: async () => `${JSON.stringify(await gobgp.gobgp('neighbor', NODE, '-j'))}\n${(await agent.cliRun(['neighbor', 'g3'])).stdout}` },
    );
    expect(pair.w.in.OPEN).toBe(1);
    expect(pair.w.out.UPDATE).toBeGreaterThanOrEqual(1);
    console.log(`cli-neighbor: gobgp neighbor ${NODE} (g3):\n${String(await gobgp.gobgp('neighbor', NODE))}\nweft neighbor g3:\n${(await agent.cliRun(['neighbor', 'g3'])).stdout}`);
  });

  it('weft routes PREFIX --all-paths shows both candidates, one best with its reason', async () => {
    const paths = await cliJson<PathView[]>(['routes', SHARED, '--all-paths']);
    // Best first: b1's path (AS_PATH 65001) over b2's (65002 65002).
    expect(paths.map((p) => [p.peer, p.rank, p.asPath])).toEqual([['b1', 'best', '65001'], ['b2', 'lost', '65002 65002']]);
    const best = paths[0];
    expect(best.reason).toBe('shorter AS_PATH 1 vs 2');
    expect(paths[1].reason).toBe('shorter AS_PATH 1 vs 2 [RFC 4271 9.1.2.2 a]');
    const text = (await agent.cliRun(['routes', SHARED, '--all-paths'])).stdout;
    console.log(`cli-neighbor: weft routes ${SHARED} --all-paths:\n${text}`);
    expect(text).toMatch(new RegExp(`^10\\.244\\.50\\.0/26\\s+\\*\\s+${best.peer}\\s`, 'm'));
    // An address inside finds the same prefix (longest match); a prefix nobody sent is exit 1.
    expect((await cliJson<PathView[]>(['routes', '10.244.50.9'])).map((r) => r.prefix)).toEqual([SHARED]);
    const missing = await agent.cliRun(['routes', '10.244.99.0/26', '--json'], [1]);
    expect(JSON.parse(missing.stdout).error.code).toBe('not-found');
  });

  it('--received / --advertised for one peer match what BIRD exported and imported', async () => {
    const rin = await cliJson<PathView[]>(['routes', '--peer', 'b2', '--received']);
    expect(rin.map((p) => [p.prefix, p.asPath, p.nextHop])).toEqual([[SHARED, '65002 65002', B.b2.address], [B2_ONLY, '65002', B.b2.address]]);
    const rout = await cliJson<PathView[]>(['routes', '--peer', 'b1', '--advertised']);
    const birdHas = await bird.b1.birdc('show', 'route', 'protocol', 'weft');
    console.log(`cli-neighbor: birdc show route protocol weft (b1):\n${birdHas}`);
    for (const r of rout) expect(birdHas).toContain(r.prefix);
    expect(rout.map((r) => r.prefix)).toContain(BLOCK);
    expect(rout.map((r) => r.prefix)).toContain(B2_ONLY);
    for (const r of rout) expect(r.asPath.split(' ')[0]).toBe('64512');
  });

  it('a NOTIFICATION received (BIRD disabled with a message) is the last NOTIFICATION received; status and neighbor exit 1', async () => {
    await bird.b1.birdc('disable', 'weft', '"cli test maintenance"');
    const n = await waitFor(
      async () => {
        const v = await cliJson<NeighborView>(['neighbor', 'b1'], [0, 1]);
        return v.lastNotificationReceived && v.state !== 'Established' ? v : undefined;
      },
      { what: 'weft hears the Cease from b1', timeoutMs: 20_000, intervalMs: 200, diagnose },
    );
    expect(n.lastNotificationReceived).toMatchObject({ code: 6, subcode: 2, name: 'Cease / Administrative Shutdown', shutdownMessage: 'cli test maintenance' });
    expect(n.messages.in.NOTIFICATION).toBe(1);
    const text = await agent.cliRun(['neighbor', 'b1'], [1]);
    expect(text.stdout).toMatch(/last NOTIFICATION received: +6\/2 Cease \/ Administrative Shutdown "cli test maintenance" at /);
    expect((await agent.cliRun(['status'], [1])).code).toBe(1);
    expect((await agent.cliRun(['neighbor', 'b2'])).code).toBe(0);
    const unknown = await agent.cliRun(['neighbor', 'b9'], [2]);
    expect(unknown.stderr).toMatch(/unknown peer "b9"; known peers: b1 \(10\.0\.0\.1\), b2 \(10\.0\.0\.2\)/);
    await bird.b1.birdc('enable', 'weft');
    await agent.waitPeer('b1', (p) => p.state === 'Established', 'back after enable', 30_000);
    expect((await agent.cliRun(['status'])).code).toBe(0);
    const back = await cliJson<NeighborView>(['neighbor', 'b1']);
    expect(back.flaps).toBe(1);
    expect(back.establishedTransitions).toBe(2);
  });
});

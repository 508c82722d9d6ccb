// `weft agent` against real external and misbehaving peers, on one bridge (10.0.0.0/24):
//
//   tor    10.0.0.1   FRR, AS 65001: the rack ToR, eBGP to both agents; announces one in-pool
//                     prefix, one outside every pool (192.0.2.0/24) and a default route
//   node1  10.0.0.11  weft agent, AS 64512, block 10.244.11.0/26
//   node2  10.0.0.12  weft agent, AS 64512, block 10.244.12.0/26
//   bird3  10.0.0.13  BIRD, AS 64512, listed as a mesh node of both agents; announces its block
//                     and two prefixes outside the pools
//   edge   10.0.0.21  BIRD, AS 65002, external peer of node1 with maxPrefix 5 / restartAfter 3 s;
//                     announces 8 in-pool prefixes, then 4
//
// Checked: the ToR learns each host's block with AS path "64512"; the agents accept the ToR's
// in-pool prefix and refuse (and count, by reason) the out-of-pool one and the default; the mesh
// member's out-of-pool prefixes are refused and counted and never reach the ToR; the max-prefix
// peer gets Cease/1 (BIRD: "Received: Maximum number of prefixes reached"), comes back after
// restartAfter each time (log timeline + Established counter), and stays up once it sends fewer.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConfig, startAgent, type AgentStatus, type PeerStatusView, type RouteView, type WeftAgent } from '../helpers/agent.js';
import { startBird, type Bird } from '../helpers/bird.js';
import { run } from '../helpers/exec.js';
import { startFrr, type Frr, type FrrPath } from '../helpers/frr.js';
import { Lab } from '../helpers/netns.js';
import { NotRecoverable, waitFor } from '../helpers/wait.js';
import { interopSkipReason, lan } from '../helpers/weft.js';

const skipReason = interopSkipReason(['ip', 'bird', 'birdc', 'vtysh', '/usr/lib/frr/bgpd', '/usr/lib/frr/zebra']);
if (skipReason) console.warn(`agent-external skipped: ${skipReason}`);

const TOR = '10.0.0.1';
const BIRD3 = '10.0.0.13';
const EDGE = '10.0.0.21';
const nodeAddr = (i: number) => `10.0.0.1${i}`;
const nodeBlock = (i: number) => `10.244.1${i}.0/26`;
const TOR_IN_POOL = '10.244.200.0/26';
const TOR_OUT_OF_POOL = '192.0.2.0/24';
const DEFAULT = '0.0.0.0/0';
const BIRD3_BLOCK = '10.244.13.0/26';
const BIRD3_OUT = ['198.51.100.0/24', '203.0.113.0/24'];
const MAX_PREFIX = 5;
const RESTART_AFTER = 3;
/** The edge peer's k-th prefix: 10.244.150.0/26, .64/26, ... */
const edgePrefix = (k: number) => `10.244.${150 + (k >> 2)}.${(k & 3) * 64}/26`;

const torConf = `hostname tor
router bgp 65001
 bgp router-id ${TOR}
 no bgp ebgp-requires-policy
 no bgp network import-check
${[1, 2].map((i) => ` neighbor ${nodeAddr(i)} remote-as 64512\n neighbor ${nodeAddr(i)} timers 3 9\n neighbor ${nodeAddr(i)} timers connect 1`).join('\n')}
 address-family ipv4 unicast
  network ${TOR_IN_POOL}
  network ${TOR_OUT_OF_POOL}
  network ${DEFAULT}
 exit-address-family
`;

const bird3Conf = `protocol device {}
protocol static st {
  ipv4;
${[BIRD3_BLOCK, ...BIRD3_OUT].map((p) => `  route ${p} blackhole;`).join('\n')}
}
template bgp meshpeer {
  local ${BIRD3} as 64512;
  direct;
  # The mesh rule (calico-node's): the address whose text sorts higher dials. 10.0.0.13 dials both
  # agents, which only listen for it.
  hold time 9;
  connect retry time 1;
  ipv4 { import all; export where source = RTS_STATIC; next hop self; };
}
protocol bgp node1 from meshpeer { neighbor ${nodeAddr(1)} as 64512; }
protocol bgp node2 from meshpeer { neighbor ${nodeAddr(2)} as 64512; }
`;

const edgeConf = (count: number) => `protocol device {}
protocol static st {
  ipv4;
${Array.from({ length: count }, (_, k) => `  route ${edgePrefix(k)} blackhole;`).join('\n')}
}
protocol bgp toweft {
  local ${EDGE} as 65002;
  neighbor ${nodeAddr(1)} as 64512;
  hold time 9;
  connect retry time 1;
  error wait time 1, 2;
  ipv4 { import all; export where source = RTS_STATIC; };
}
`;

describe.skipIf(skipReason !== undefined)('weft agent: external peers, import policy, max-prefix', () => {
  let lab: Lab;
  let ns: Record<string, string>;
  let tor: Frr;
  let bird3: Bird;
  let edge: Bird | undefined;
  const agents: WeftAgent[] = [];

  const diagnose = () => agents.map((a) => a.logTail(15)).join('\n');

  /** FRR's paths for a prefix on the ToR ([] when it has none). */
  const torPaths = async (prefix: string): Promise<FrrPath[]> => (await tor.bgpRoutes())[prefix] ?? [];
  const pathFrom = (paths: FrrPath[], addr: string) => paths.find((p) => p.peerId === addr || p.nexthops?.some((n) => n.ip === addr));

  beforeAll(async () => {
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
    lab = Lab.create();
    ns = await lan(lab, {
      tor: [`${TOR}/24`],
      node1: [`${nodeAddr(1)}/24`],
      node2: [`${nodeAddr(2)}/24`],
      bird3: [`${BIRD3}/24`],
      edge: [`${EDGE}/24`],
    });
    const meshNodes = [
      { name: 'node1', address: nodeAddr(1) },
      { name: 'node2', address: nodeAddr(2) },
      { name: 'bird3', address: BIRD3 },
    ];
    const torPeer = { name: 'tor', address: TOR, asn: 65001, holdTime: 9, connectRetry: 1 };
    const edgePeer = {
      name: 'edge',
      address: EDGE,
      asn: 65002,
      holdTime: 9,
      connectRetry: 1,
      maxPrefix: { limit: MAX_PREFIX, restartAfter: RESTART_AFTER },
    };
    tor = await startFrr(lab, ns.tor, { bgpdConf: torConf });
    bird3 = await startBird(lab, ns.bird3, { routerId: BIRD3, config: bird3Conf });
    for (const i of [1, 2]) {
      const config = agentConfig(`node${i}`, `${nodeAddr(i)}/24`, {
        mesh: { nodes: meshNodes },
        // Only node1 has the max-prefix peer; its BIRD starts in the max-prefix test.
        peers: i === 1 ? [torPeer, edgePeer] : [torPeer],
        blocks: [nodeBlock(i)],
      });
      agents.push(await startAgent(lab, ns[`node${i}`], { name: `node${i}`, config }));
    }
    // Both agents: the other agent, BIRD and the ToR Established.
    await waitFor(
      async () => {
        for (const a of agents) {
          const up = (await a.status()).peers.filter((p) => p.state === 'Established').map((p) => p.id);
          for (const id of ['tor', 'bird3', a.name === 'node1' ? 'node2' : 'node1']) if (!up.includes(id)) return false;
        }
        return true;
      },
      { what: 'both agents Established with tor, bird3 and each other', timeoutMs: 30_000, intervalMs: 200, diagnose },
    );
  });

  afterAll(async () => {
    const problems = await lab?.cleanup();
    expect(problems ?? []).toEqual([]);
  });

  it('eBGP ToR (FRR): learns each host block with AS path 64512; in-pool accepted, out-of-pool and default refused and counted', async () => {
    // The ToR side: each host's block, from that host, with the node AS as the whole AS path.
    const seen = await waitFor(
      async () => {
        const out: Record<string, FrrPath[]> = {};
        for (const i of [1, 2]) {
          const paths = await torPaths(nodeBlock(i));
          if (!pathFrom(paths, nodeAddr(i))) return undefined;
          out[nodeBlock(i)] = paths;
        }
        return out;
      },
      { what: 'the ToR has both host blocks', timeoutMs: 20_000, intervalMs: 200, diagnose: async () => `${await tor.vtysh('show bgp ipv4 unicast')}\n${diagnose()}` },
    );
    for (const i of [1, 2]) {
      const paths = seen[nodeBlock(i)]!;
      expect(pathFrom(paths, nodeAddr(i))).toMatchObject({ valid: true, path: '64512' });
      // The other host passes it on too (learned over the mesh): still only the node AS, once.
      for (const p of paths) expect(p.path).toBe('64512');
    }

    // The agent side: of the ToR's own 3, 1 accepted, 1 refused as a default route, 1 as outside
    // the pools. FRR (no sender-side loop check by default) also echoes back the blocks the agents
    // sent it, with "65001 64512": those are refused as AS loops. Every received prefix is counted
    // once: accepted + refused = received.
    const tally = (p: PeerStatusView) => p.accepted + Object.values(p.refused).reduce((x, y) => x + y, 0);
    for (const a of agents) {
      await a.waitPeer(
        'tor',
        (p) => p.accepted === 1 && p.refused['default-route'] === 1 && p.refused['outside-pools'] === 1 && tally(p) === p.received,
        'accepted 1, refused the default and the out-of-pool prefix',
        20_000,
      );
      const st = await a.cli<AgentStatus>('status');
      const torRow = st.peers.find((p) => p.id === 'tor')!;
      expect(torRow, `${a.name} status has the tor`).toMatchObject({
        address: TOR,
        asn: 65001,
        kind: 'external',
        state: 'Established',
        accepted: 1,
        refused: { 'default-route': 1, 'outside-pools': 1 },
      });
      expect(torRow.received).toBe(tally(torRow));
      expect(torRow.received).toBeGreaterThanOrEqual(3);
      expect(Object.keys(torRow.refused).filter((r) => !['default-route', 'outside-pools', 'as-loop'].includes(r))).toEqual([]);
      const routes = await a.cli<RouteView[]>('routes');
      expect(routes.find((r) => r.prefix === TOR_IN_POOL), `${a.name} has ${TOR_IN_POOL}`).toMatchObject({
        source: 'peer',
        peer: 'tor',
        nextHop: TOR,
        asPath: '65001',
      });
      const prefixes = routes.map((r) => r.prefix);
      expect(prefixes).not.toContain(TOR_OUT_OF_POOL);
      expect(prefixes).not.toContain(DEFAULT);
    }
  });

  it('mesh member (BIRD, AS 64512) announcing 1 in-pool and 2 out-of-pool prefixes: 1 accepted, 2 refused and counted', async () => {
    for (const a of agents) {
      const row = await a.waitPeer('bird3', (p) => p.received === 3 && p.accepted === 1, 'received 3, accepted 1', 20_000);
      expect(row).toMatchObject({ kind: 'mesh', state: 'Established', asn: 64512, received: 3, accepted: 1, refused: { 'outside-pools': 2 } });
      const routes = await a.routes();
      expect(routes.find((r) => r.prefix === BIRD3_BLOCK)).toMatchObject({ source: 'peer', peer: 'bird3', nextHop: BIRD3 });
      for (const p of BIRD3_OUT) expect(routes.map((r) => r.prefix)).not.toContain(p);
    }
    // BIRD agrees both of its sessions are up; the ToR gets the in-pool block, never the others.
    expect(await bird3.protocolState('node1')).toBe('Established');
    expect(await bird3.protocolState('node2')).toBe('Established');
    await waitFor(async () => (await torPaths(BIRD3_BLOCK)).length > 0, {
      what: `the ToR has ${BIRD3_BLOCK}`,
      timeoutMs: 10_000,
      intervalMs: 200,
    });
    const torRoutes = await tor.bgpRoutes();
    for (const p of BIRD3_OUT) expect(Object.keys(torRoutes)).not.toContain(p);
  });

  it(`max-prefix ${MAX_PREFIX}: ${MAX_PREFIX + 3} prefixes -> Cease/1, back after restartAfter, stays up with ${MAX_PREFIX - 1}`, async () => {
    const node1 = agents[0]!;
    edge = await startBird(lab, ns.edge, { routerId: EDGE, config: edgeConf(MAX_PREFIX + 3) });
    const e = edge;
    const edgeDiag = async () => `${await e.birdc('show', 'protocols', 'all', 'toweft').catch((x: Error) => x.message)}\n${node1.logTail(30)}`;

    // weft tears the session down and says why; BIRD heard Cease / Maximum number of prefixes.
    const down = await node1.waitPeer(
      'edge',
      (p) => p.establishedTransitions >= 1 && p.state !== 'Established' && /^max-prefix: \d+ prefixes > limit 5 \(IPv4 unicast\); restarting in 3 s$/.test(p.lastError ?? ''),
      'torn down by max-prefix',
      20_000,
    );
    expect(down.lastError).toBe(`max-prefix: ${MAX_PREFIX + 3} prefixes > limit ${MAX_PREFIX} (IPv4 unicast); restarting in ${RESTART_AFTER} s`);
    expect(Date.parse(down.lastErrorAt ?? '')).not.toBeNaN();
    await waitFor(async () => /Last error:\s+Received: Maximum number of prefixes reached/.test(await e.birdc('show', 'protocols', 'all', 'toweft')), {
      what: 'BIRD: last error "Received: Maximum number of prefixes reached"',
      timeoutMs: 10_000,
      intervalMs: 100,
      diagnose: edgeDiag,
    });
    // It comes back after restartAfter, and is torn down again while the peer sends too many.
    await node1.waitPeer('edge', (p) => p.establishedTransitions >= 3, 'Established 3 times (restarted twice)', 30_000);
    const cuts = node1.logEvents('agent.max-prefix', 'edge').map((l) => Date.parse(l.time));
    const ups = node1.logEvents('session.established', 'edge').map((l) => Date.parse(l.time));
    expect(cuts.length).toBeGreaterThanOrEqual(2);
    for (let i = 0; i + 1 < cuts.length; i++) {
      const next = ups.find((t) => t >= cuts[i]!);
      expect(next, `an Established after cut ${i}`).toBeDefined();
      // The session stayed down for restartAfter (ms precision of the log times), then came back promptly.
      expect(next! - cuts[i]!).toBeGreaterThanOrEqual(RESTART_AFTER * 1000 - 5);
      expect(next! - cuts[i]!).toBeLessThan(RESTART_AFTER * 1000 + 5000);
    }
    const limitEvents = node1.logEvents('agent.max-prefix', 'edge');
    expect(limitEvents[0]).toMatchObject({ count: MAX_PREFIX + 3, limit: MAX_PREFIX, restartAfter: RESTART_AFTER });
    // Each cut is a NOTIFICATION Cease (6) / Maximum Number of Prefixes Reached (1), RFC 4486.
    const ceases = node1.logEvents('session.notification-sent', 'edge').filter((l) => l.code === 6 && l.subcode === 1);
    expect(ceases.length).toBeGreaterThanOrEqual(cuts.length);
    // RFC 4486 4: the data is AFI 1, SAFI 1 and the limit (4 octets).
    for (const c of ceases) expect(c.data).toBe(`000101${MAX_PREFIX.toString(16).padStart(8, '0')}`);
    // One clean step: a ManualStop with the max-prefix cause (no automatic restart announced and
    // then cancelled); the agent's line names the real restart delay.
    const cutDowns = node1.logEvents('session.transition', 'edge').filter((l) => l.from === 'Established');
    expect(cutDowns.length).toBeGreaterThanOrEqual(cuts.length);
    for (const t of cutDowns.slice(0, cuts.length)) expect(t.reason).toBe('ManualStop (cease.max-prefixes)');
    expect(node1.logEvents('session.fsm', 'edge').filter((l) => /automatic restart cancelled/.test(l.msg ?? ''))).toEqual([]);
    expect(limitEvents[0]!.msg).toMatch(new RegExp(`restarting in ${RESTART_AFTER} s`));

    // The peer now sends N-1: after the next restart the session comes up and stays up.
    writeFileSync(`${e.dir}/bird.conf`, `router id ${EDGE};\nlog "${e.dir}/bird.log" all;\n${edgeConf(MAX_PREFIX - 1)}`);
    expect(await e.birdc('configure')).toMatch(/Reconfigured|Reconfiguration in progress/);
    const up = await node1.waitPeer('edge', (p) => p.state === 'Established' && p.accepted === MAX_PREFIX - 1, `Established with ${MAX_PREFIX - 1} accepted`, 20_000);
    // Held for more than two restart periods with no reset: the counter and the state do not move.
    const stable = await waitFor(
      async () => {
        const p = (await node1.peer('edge')) as PeerStatusView;
        if (p.state !== 'Established' || p.establishedTransitions !== up.establishedTransitions) {
          throw new NotRecoverable(`the edge session was reset with ${MAX_PREFIX - 1} prefixes: ${JSON.stringify(p)}`);
        }
        return Date.now() - Date.parse(p.since) >= 2 * RESTART_AFTER * 1000 + 1000 ? p : undefined;
      },
      { what: `edge Established for ${2 * RESTART_AFTER + 1} s`, timeoutMs: 20_000, intervalMs: 200, diagnose: edgeDiag },
    );
    expect(stable).toMatchObject({ state: 'Established', accepted: MAX_PREFIX - 1, received: MAX_PREFIX - 1 });
    expect(await e.protocolState('toweft')).toBe('Established');
    const learned = await node1.learned();
    for (let k = 0; k < MAX_PREFIX - 1; k++) expect(learned).toContain(edgePrefix(k));
    expect(learned).not.toContain(edgePrefix(MAX_PREFIX - 1));
  });
});

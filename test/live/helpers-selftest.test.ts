// Proves the live-test helpers: namespaces + veths (IPv4 and IPv6), BIRD <-> FRR eBGP with 4-octet
// ASNs over both families, GoBGP <-> BIRD, a tcpdump capture dissected by tshark, and a cleanup that
// leaves no namespace and no daemon behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBird, type Bird } from '../helpers/bird.js';
import { run } from '../helpers/exec.js';
import { startFrr, type Frr } from '../helpers/frr.js';
import { startGobgp, type Gobgp } from '../helpers/gobgp.js';
import { Lab } from '../helpers/netns.js';
import { missingPrereq } from '../helpers/prereq.js';
import { isGone } from '../helpers/processes.js';
import { bgpMessages, bgpMessageTypes, capture, dissect, type Capture } from '../helpers/tshark.js';
import { waitFor } from '../helpers/wait.js';

const AS_BIRD = 4200000001;
const AS_FRR = 4200000002;
const AS_GOBGP = 4200000003;
const PREFIXES = ['10.201.1.0/24', '10.201.2.0/24', '10.201.3.0/24'];
const PREFIX6 = 'fd00:201::/48';

const skipReason = missingPrereq(['ip', 'bird', 'birdc', 'vtysh', 'gobgpd', 'gobgp', 'tcpdump', 'tshark', '/usr/lib/frr/bgpd']);
if (skipReason) console.warn(`helpers-selftest skipped: ${skipReason}`);

const birdConf = `
protocol device {}
protocol static st4 {
  ipv4;
${PREFIXES.map((p) => `  route ${p} blackhole;`).join('\n')}
}
protocol static st6 {
  ipv6;
  route ${PREFIX6} blackhole;
}
template bgp fast {
  local as ${AS_BIRD};
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 5;
}
protocol bgp frr4 from fast {
  neighbor 10.0.0.2 as ${AS_FRR};
  ipv4 { import all; export where source = RTS_STATIC; };
}
protocol bgp frr6 from fast {
  neighbor fd00:0:1::2 as ${AS_FRR};
  ipv6 { import all; export where source = RTS_STATIC; };
}
protocol bgp gobgp from fast {
  neighbor 10.0.1.2 as ${AS_GOBGP};
  ipv4 { import all; export where source = RTS_STATIC; };
}
`;

const bgpdConf = `frr defaults traditional
hostname selftest
router bgp ${AS_FRR}
 bgp router-id 10.0.0.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 10.0.0.1 remote-as ${AS_BIRD}
 neighbor 10.0.0.1 timers connect 1
 neighbor fd00:0:1::1 remote-as ${AS_BIRD}
 neighbor fd00:0:1::1 timers connect 1
 address-family ipv4 unicast
  no neighbor fd00:0:1::1 activate
 exit-address-family
 address-family ipv6 unicast
  neighbor fd00:0:1::1 activate
 exit-address-family
`;

const gobgpToml = `
[global.config]
  as = ${AS_GOBGP}
  router-id = "10.0.1.2"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.0.1.1"
    peer-as = ${AS_BIRD}
  [neighbors.timers.config]
    connect-retry = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
`;

describe.skipIf(skipReason !== undefined)('live test helpers (netns, BIRD, FRR, GoBGP, tshark)', () => {
  let lab: Lab;
  let bird: Bird;
  let frr: Frr;
  let gobgp: Gobgp;
  let cap: Capture;
  let stopKeepAwake = () => {};

  beforeAll(async () => {
    lab = Lab.create();
    const [nsB, nsF, nsG] = [await lab.createNs('bird'), await lab.createNs('frr'), await lab.createNs('gobgp')];
    await lab.veth(nsB, 'eth0', ['10.0.0.1/30', 'fd00:0:1::1/64'], nsF, 'eth0', ['10.0.0.2/30', 'fd00:0:1::2/64']);
    await lab.veth(nsB, 'eth1', '10.0.1.1/30', nsG, 'eth0', '10.0.1.2/30');
    cap = await capture(lab, nsB, 'eth0', 'tcp port 179');
    [bird, frr, gobgp] = await Promise.all([
      startBird(lab, nsB, { routerId: '10.0.0.1', config: birdConf }),
      startFrr(lab, nsF, { bgpdConf }),
      startGobgp(lab, nsG, { toml: gobgpToml, apiPort: 50051 }),
    ]);
    stopKeepAwake = bird.keepAwake();
  });

  afterAll(async () => {
    stopKeepAwake();
    await lab?.cleanup();
  });

  it('IPv6 addresses on the veth are usable at once (no DAD wait)', async () => {
    const r = await lab.exec(lab.nsList()[0]!, 'ping', ['-6', '-c', '1', '-W', '2', 'fd00:0:1::2']);
    expect(r.stdout).toMatch(/1 received/);
  });

  it('BIRD and FRR reach Established over IPv4 and IPv6 with 4-octet ASNs', async () => {
    for (const [proto, addr] of [['frr4', '10.0.0.1'], ['frr6', 'fd00:0:1::1']] as const) {
      await waitFor(async () => (await bird.protocolState(proto)) === 'Established' && (await frr.neighborState(addr)) === 'Established', {
        what: `BIRD ${proto} and FRR neighbor ${addr} Established`,
        timeoutMs: 30_000,
        diagnose: async () => `${await bird.birdc('show', 'protocols', 'all', proto)}\n${frr.logTail()}`,
      });
    }
    const n = await frr.vtyshJson<Record<string, { remoteAs: number; localAs: number; neighborCapabilities?: Record<string, unknown> }>>(
      'show bgp neighbors 10.0.0.1 json',
    );
    expect(n['10.0.0.1']?.remoteAs).toBe(AS_BIRD);
    expect(n['10.0.0.1']?.localAs).toBe(AS_FRR);
    expect(n['10.0.0.1']?.neighborCapabilities?.['4byteAs']).toBe('advertisedAndReceived');
    expect(await bird.birdc('show', 'protocols', 'all', 'frr4')).toMatch(new RegExp(`Neighbor AS:\\s+${AS_FRR}`));
  });

  it("FRR learns BIRD's 3 static IPv4 prefixes (and the IPv6 one)", async () => {
    const routes = await waitFor(
      async () => {
        const r = await frr.bgpRoutes('ipv4');
        return PREFIXES.every((p) => r[p]?.length) ? r : undefined;
      },
      { what: "BIRD's prefixes in FRR", timeoutMs: 20_000 },
    );
    expect(Object.keys(routes).sort()).toEqual(PREFIXES);
    expect(routes[PREFIXES[0]!]?.[0]?.path).toBe(String(AS_BIRD));
    const v6 = await waitFor(async () => (await frr.bgpRoutes('ipv6'))[PREFIX6], { what: `${PREFIX6} in FRR`, timeoutMs: 20_000 });
    expect(v6.length).toBe(1);
    expect(await bird.routeCount('master4')).toBe(3);
    expect(await bird.showRoute(PREFIXES[0], true)).toContain(PREFIXES[0]);
  });

  it("GoBGP peers with BIRD (session_state 6) and receives BIRD's 3 prefixes", async () => {
    await waitFor(async () => (await gobgp.neighborState('10.0.1.1')) === 6, {
      what: 'GoBGP neighbor 10.0.1.1 Established',
      timeoutMs: 30_000,
      diagnose: () => gobgp.logTail(),
    });
    expect(await bird.protocolState('gobgp')).toBe('Established');
    const count = await waitFor(async () => ((await gobgp.ribCount('ipv4')) >= 3 ? gobgp.ribCount('ipv4') : 0), {
      what: "BIRD's 3 prefixes in GoBGP's RIB",
      timeoutMs: 20_000,
    });
    expect(count).toBe(3);
  });

  it('tshark sees at least one OPEN and one UPDATE in the capture', async () => {
    const pcap = await cap.stop();
    const packets = await dissect(pcap);
    const types = bgpMessageTypes(packets);
    expect(types).toContain(1);
    expect(types).toContain(2);
    // 4-octet ASNs: the OPEN's My AS field carries AS_TRANS (RFC 6793 section 4.2.1).
    const opens = bgpMessages(packets).filter((m) => m['bgp.type'] === '1');
    expect(opens.map((m) => m['bgp.open.myas'])).toContain('23456');
  });

  it('cleanup leaves no namespace and no daemon alive', async () => {
    stopKeepAwake();
    const pids = lab.trackedPids();
    const names = lab.nsList();
    expect(names.length).toBe(3);
    expect(pids.length).toBeGreaterThanOrEqual(5); // tcpdump, bird, zebra, bgpd, gobgpd
    expect(await lab.cleanup()).toEqual([]);
    const listed = (await run('ip', ['netns', 'list'])).stdout;
    for (const ns of names) expect(listed).not.toContain(ns);
    for (const p of pids) expect(isGone(p), `${p.label} pid ${p.pid} gone`).toBe(true);
    expect(await lab.cleanup()).toEqual([]); // idempotent
  });
});

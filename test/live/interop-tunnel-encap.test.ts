// Interop of the RFC 9012 Tunnel Encapsulation attribute (type 23) that weft puts on its blocks
// (issue 13: the VNI is signalled so receivers never guess). weft sends it to iBGP peers only
// (RFC 9012 11: filtered on eBGP by default). FRR 8.4 parses the attribute; BIRD 2.0.12 keeps it
// as an unknown optional transitive attribute. Both must accept the block (session up, route
// valid), and a second weft learning the block through them (route reflection) must get the VNI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConfig, startAgent, type RouteView, type WeftAgent } from '../helpers/agent.js';
import { startBird, type Bird } from '../helpers/bird.js';
import { run } from '../helpers/exec.js';
import { startFrr, type Frr } from '../helpers/frr.js';
import { lan24 } from '../helpers/interop.js';
import { Lab } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';
import { interopSkipReason } from '../helpers/weft.js';

const skipReason = interopSkipReason(['ip', 'bird', 'birdc', 'vtysh', '/usr/lib/frr/bgpd', '/usr/lib/frr/zebra']);
if (skipReason) console.warn(`interop-tunnel-encap skipped: ${skipReason}`);

const FRR = '10.0.0.1';
const BIRD = '10.0.0.2';
const W1 = '10.0.0.11';
const W2 = '10.0.0.12';
const W3 = '10.0.0.13';
const BLOCK = '10.250.1.0/26';

const frrConf = `frr defaults traditional
hostname rr
router bgp 64512
 bgp router-id ${FRR}
 no bgp network import-check
 neighbor ${W1} remote-as 64512
 neighbor ${W1} timers connect 1
 neighbor ${W3} remote-as 64512
 neighbor ${W3} timers connect 1
 address-family ipv4 unicast
  neighbor ${W1} route-reflector-client
  neighbor ${W3} route-reflector-client
 exit-address-family
`;

const birdConf = `protocol device {}
${[W1, W2]
  .map(
    (w, i) => `protocol bgp w${i + 1} {
  local ${BIRD} as 64512;
  neighbor ${w} as 64512;
  rr client;
  direct;
  connect retry time 1;
  ipv4 { import all; export all; };
}`,
  )
  .join('\n')}`;

describe.skipIf(skipReason !== undefined)('interop: the RFC 9012 Tunnel Encapsulation attribute on weft blocks (iBGP, FRR and BIRD as reflectors)', () => {
  let lab: Lab;
  let ns: Record<string, string>;
  let frr: Frr;
  let bird: Bird;
  let w1: WeftAgent;
  let w2: WeftAgent;
  let w3: WeftAgent;

  const config = (name: string, address: string, blocks: string[], vni: number | undefined, reflectors: ('frr' | 'bird')[]) =>
    agentConfig(name, `${address}/24`, {
      mesh: { enabled: false },
      peers: reflectors.map((r) => ({ name: r, address: r === 'frr' ? FRR : BIRD, asn: 64512, holdTime: 9, connectRetry: 1 })),
      pools: [{ cidr: '10.250.0.0/16', blockSize: 26, encapsulation: 'always', tunnel: 'vxlan', ...(vni ? { vni } : {}) }],
      blocks,
    });

  const diagnose = async () => `${w1?.logTail(20) ?? ''}\n--- frr\n${await frr?.vtysh('show bgp summary').catch((e: Error) => e.message)}`;

  beforeAll(async () => {
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
    lab = Lab.create();
    ns = await lan24(lab, { frr: FRR, bird: BIRD, w1: W1, w2: W2, w3: W3 });
    frr = await startFrr(lab, ns.frr!, { bgpdConf: frrConf });
    bird = await startBird(lab, ns.bird!, { config: birdConf, routerId: BIRD });
    w1 = await startAgent(lab, ns.w1!, { name: 'w1', config: config('w1', W1, [BLOCK], 5000, ['frr', 'bird']) });
    // w2 and w3 have no vni of their own (they would use 4096): only a signalled VNI tells them 5000.
    w2 = await startAgent(lab, ns.w2!, { name: 'w2', config: config('w2', W2, [], undefined, ['bird']) });
    w3 = await startAgent(lab, ns.w3!, { name: 'w3', config: config('w3', W3, [], undefined, ['frr']) });
  }, 180_000);

  afterAll(async () => {
    const problems = await lab?.cleanup();
    expect(problems ?? []).toEqual([]);
  });

  it('FRR accepts the block with the attribute (route valid, session up)', async () => {
    const path = await waitFor(
      async () => {
        const j = JSON.parse(await frr.vtysh(`show bgp ipv4 unicast ${BLOCK} json`)) as { paths?: { valid?: boolean; nexthops?: { ip: string }[] }[] };
        return j.paths?.find((p) => p.valid === true && p.nexthops?.[0]?.ip === W1);
      },
      { what: `FRR has ${BLOCK} from w1, valid`, timeoutMs: 30_000, intervalMs: 200, diagnose },
    );
    expect(path).toBeDefined();
    expect(await frr.neighborState(W1)).toBe('Established');
  });

  it('BIRD accepts the block and keeps the attribute (an unknown optional transitive one: shown as 0x17 / [t] in `show route all`)', async () => {
    const text = await waitFor(
      async () => {
        const t = await bird.birdc('show', 'route', 'for', BLOCK, 'all');
        return t.includes(BLOCK) ? t : undefined;
      },
      { what: `BIRD has ${BLOCK}`, timeoutMs: 30_000, intervalMs: 200, diagnose },
    );
    expect(await bird.protocolState('w1')).toBe('Established');
    expect(text).toMatch(/BGP\.next_hop: 10\.0\.0\.11/);
    // BIRD 2.0.12 lists attributes it does not know by number (type 23 = 0x17).
    // BIRD 2.0.12 lists an attribute it does not know by number, with its bytes: tunnel type 8
    // (VXLAN) first, the VNI 5000 (0x1388) inside.
    expect(text).toMatch(/BGP\.17 \[t\]: 00 08 /);
    expect(text).toContain('13 88');
  });

  /** The block as `weft routes` shows it on w, once installed. */
  const installedBlock = (w: WeftAgent) =>
    waitFor(async () => (await w.cli<RouteView[]>('routes')).find((x) => x.prefix === BLOCK && x.installed === true), {
      what: `${w.name} has ${BLOCK} installed`,
      timeoutMs: 30_000,
      intervalMs: 200,
      diagnose,
    });

  it('a weft behind BIRD learns the block with the signalled VNI and installs it on that overlay', async () => {
    const r = await installedBlock(w2);
    expect(r).toMatchObject({ nextHop: W1, shape: 'vxlan', why: 'encapsulation always -> vxlan (VNI 5000, signalled by the node)' });
    expect((await lab.ip(ns.w2!, 'route', 'show', BLOCK)).stdout).toContain('dev weft-5000');
  });

  it('FRR 8.4 reflects the block without the attribute (it keeps type 23 for its ENCAP/VPN SAFIs only): a weft behind it falls back to its own pool VNI', async () => {
    const r = await installedBlock(w3);
    expect(r).toMatchObject({ nextHop: W1, shape: 'vxlan', why: 'encapsulation always -> vxlan' });
    expect((await lab.ip(ns.w3!, 'route', 'show', BLOCK)).stdout).toContain('dev weft.vxlan');
  });

  it('no session was reset over the attribute', async () => {
    for (const w of [w1, w2, w3]) {
      const st = await w.status();
      expect(st.peers.every((p) => p.state === 'Established' && p.establishedTransitions === 1)).toBe(true);
    }
  });
});

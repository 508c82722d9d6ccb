// Interop: BFD (RFC 5880/5881) between `weft agent` and FRR's bfdd / BIRD's bfd protocol on one
// LAN, each an eBGP peer of weft with BFD on (300 ms x 3 on every side) and one route to announce.
//
//   weft  10.0.0.1   weft agent, AS 64512, peers.bfd { interval: 300, multiplier: 3 }
//   bird  10.0.0.11  BIRD 2, AS 65001, `protocol bfd` + `bfd on`, announces 10.244.101.0/26
//   frr   10.0.0.12  FRR 8.4 zebra + bgpd + bfdd, AS 65002, `neighbor 10.0.0.1 bfd`, announces 10.244.102.0/26
//
// Both directions of session start: in the first lab BIRD runs before weft starts (BIRD's BFD is
// waiting for weft) and FRR starts after weft (weft's BFD is waiting for FRR); the second lab swaps
// them. In the first lab each peer is then frozen (SIGSTOP: all of BIRD; only FRR's bfdd, so BGP
// keepalives still flow and only BFD can notice): weft must close the BGP session with Cease/10
// BFD Down and take the peer's route out of the kernel within ~1 s (the hold time is 30 s), and
// BFD must come back Up after SIGCONT.
import { loadavg } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConfig, httpGetInNs, startAgent, type WeftAgent } from '../helpers/agent.js';
import { startBird, type Bird } from '../helpers/bird.js';
import { startFrr, type Frr } from '../helpers/frr.js';
import { lan24 } from '../helpers/interop.js';
import { kernelRoutes } from '../helpers/kernel-routes.js';
import { Lab } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';
import { interopSkipReason } from '../helpers/weft.js';

const skipReason = interopSkipReason(['ip', 'bird', 'birdc', 'vtysh', '/usr/lib/frr/bgpd', '/usr/lib/frr/zebra', '/usr/lib/frr/bfdd']);
if (skipReason) console.warn(`interop-bfd skipped: ${skipReason}`);

const W = '10.0.0.1';
const ADDR = { bird: '10.0.0.11', frr: '10.0.0.12' } as const;
type Daemon = keyof typeof ADDR;
const ROUTE: Record<Daemon, string> = { bird: '10.244.101.0/26', frr: '10.244.102.0/26' };
const AS: Record<Daemon, number> = { bird: 65001, frr: 65002 };
const METRICS_PORT = 9179;

const weftConfig = agentConfig('w', `${W}/24`, {
  mesh: { enabled: false },
  peers: [
    { name: 'bird', address: ADDR.bird, asn: AS.bird, holdTime: 30, connectRetry: 1, bfd: { interval: 300, multiplier: 3 } },
    { name: 'frr', address: ADDR.frr, asn: AS.frr, holdTime: 30, connectRetry: 1, bfd: true },
  ],
  metrics: { listen: `${W}:${METRICS_PORT}` },
});

const birdConf = `protocol device {}
protocol bfd {
  interface "*" { interval 300 ms; multiplier 3; };
}
protocol static st {
  ipv4;
  route ${ROUTE.bird} blackhole;
}
protocol bgp weft {
  local ${ADDR.bird} as ${AS.bird};
  neighbor ${W} as 64512;
  hold time 30;
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 5;
  bfd on;
  ipv4 { import all; export where source = RTS_STATIC; };
}
`;

const frrConf = `frr defaults traditional
hostname frr
router bgp ${AS.frr}
 bgp router-id ${ADDR.frr}
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor ${W} remote-as 64512
 neighbor ${W} timers connect 1
 neighbor ${W} bfd
 address-family ipv4 unicast
  network ${ROUTE.frr}
 exit-address-family
`;

async function birdBfdState(bird: Bird): Promise<string | undefined> {
  const text = await bird.birdc('show', 'bfd', 'sessions');
  return new RegExp(`^${W.replace(/\./g, '\\.')}\\s+\\S+\\s+(\\w+)`, 'm').exec(text)?.[1];
}

async function frrBfdState(frr: Frr): Promise<string | undefined> {
  const peers = await frr.vtyshJson<{ peer: string; status: string }[]>('show bfd peers json');
  return peers.find((p) => p.peer === W)?.status;
}

const startDaemon = {
  bird: (lab: Lab, ns: string) => startBird(lab, ns, { routerId: ADDR.bird, config: birdConf }),
  frr: (lab: Lab, ns: string) => startFrr(lab, ns, { bgpdConf: frrConf, bfddConf: '' }),
};

/** The lab: `before` starts before weft, `after` once weft's BFD sessions are sending. */
function bfdLab(before: Daemon, after: Daemon) {
  const ctx = {} as { lab: Lab; ns: Record<string, string>; weft: WeftAgent; bird: Bird; frr: Frr };
  beforeAll(async () => {
    ctx.lab = Lab.create();
    ctx.ns = await lan24(ctx.lab, { weft: W, ...ADDR });
    const first = await startDaemon[before](ctx.lab, ctx.ns[before]!);
    Object.assign(ctx, { [before]: first });
    ctx.weft = await startAgent(ctx.lab, ctx.ns.weft!, { name: 'w', config: weftConfig });
    // weft's BFD towards the later daemon is already transmitting (Down, slow) before that daemon exists.
    await ctx.weft.waitPeer(after, (p) => (p.bfd?.packetsOut ?? 0) > 0, 'BFD transmitting');
    const second = await startDaemon[after](ctx.lab, ctx.ns[after]!);
    Object.assign(ctx, { [after]: second });
  });
  afterAll(async () => {
    for (const pid of [ctx.bird?.pid, ctx.frr?.bfddPid]) {
      try {
        if (pid) process.kill(pid, 'SIGCONT');
      } catch {
        // gone
      }
    }
    expect((await ctx.lab?.cleanup()) ?? []).toEqual([]);
  });
  return ctx;
}

async function bothUp(ctx: ReturnType<typeof bfdLab>): Promise<void> {
  for (const d of ['bird', 'frr'] as const) {
    await ctx.weft.waitPeer(d, (p) => p.state === 'Established', 'Established', 40_000);
    // weft is Up on the peer's Init; the peer's next packet says Up.
    await ctx.weft.waitPeer(d, (p) => p.bfd?.state === 'Up' && p.bfd.remoteState === 'Up', 'BFD Up on both sides', 20_000);
    // Both sides agreed on 300 ms x 3 after the Poll Sequence.
    await ctx.weft.waitPeer(d, (p) => p.bfd?.txIntervalMs === 300 && p.bfd.detectTimeMs === 900, 'BFD at 300 ms x 3', 10_000);
  }
  expect(await waitFor(() => birdBfdState(ctx.bird).then((s) => s === 'Up'), { what: 'BIRD BFD session Up', timeoutMs: 10_000 })).toBe(true);
  expect(await waitFor(() => frrBfdState(ctx.frr).then((s) => s === 'up'), { what: 'FRR bfdd peer up', timeoutMs: 10_000 })).toBe(true);
}

const hasRoute = async (lab: Lab, ns: string, prefix: string) => (await kernelRoutes(lab, ns, 'weft')).some((r) => r.dst === prefix);

describe.skipIf(skipReason !== undefined)('interop BFD: BIRD first, FRR after weft; freeze and thaw', () => {
  const ctx = bfdLab('bird', 'frr');

  it('BFD comes Up with both daemons and BGP is Established; status, CLI and metrics show it', async () => {
    await bothUp(ctx);
    for (const d of ['bird', 'frr'] as const) {
      await waitFor(() => hasRoute(ctx.lab, ctx.ns.weft!, ROUTE[d]), { what: `${ROUTE[d]} from ${d} in weft's kernel`, timeoutMs: 15_000 });
    }
    const table = (await ctx.weft.cliRun(['status'])).stdout;
    expect(table).toMatch(/\bBFD\b/);
    expect(table, table).toMatch(/bird\s.*Up 900ms/);
    expect(table, table).toMatch(/frr\s.*Up 900ms/);
    const json = await ctx.weft.cli<{ peers: { id: string; bfd?: { state: string; localDiscriminator: number; remoteDiscriminator: number } }[] }>('status');
    for (const p of json.peers) {
      expect(p.bfd?.state).toBe('Up');
      expect(p.bfd?.remoteDiscriminator).toBeGreaterThan(0);
    }
    const m = await httpGetInNs(ctx.ns.weft!, `http://${W}:${METRICS_PORT}/metrics`);
    expect(m.status).toBe(200);
    expect(m.body).toMatch(/weft_peer_bfd_up\{peer="bird",address="10\.0\.0\.11",type="external"\} 1/);
    expect(m.body).toMatch(/weft_peer_bfd_up\{peer="frr",address="10\.0\.0\.12",type="external"\} 1/);
  });

  for (const d of ['bird', 'frr'] as const) {
    it(`${d} frozen (SIGSTOP ${d === 'bird' ? 'bird' : 'bfdd only'}): Cease BFD Down, BGP down and the route out of the kernel within ~1 s; BFD back Up after SIGCONT`, async () => {
      const pid = d === 'bird' ? ctx.bird.pid : ctx.frr.bfddPid!;
      // Up, Established, and past the Poll Sequence: until then the peer still sends at the slow 1 s
      // rate of a session coming up (RFC 5880 6.8.3) and detection takes 3 s.
      await ctx.weft.waitPeer(d, (p) => p.bfd?.state === 'Up' && p.bfd.detectTimeMs === 900 && p.state === 'Established', 'Up, 300 ms x 3, Established', 40_000);
      await waitFor(() => hasRoute(ctx.lab, ctx.ns.weft!, ROUTE[d]), { what: `${ROUTE[d]} in the kernel`, timeoutMs: 15_000 });
      const stoppedAt = Date.now();
      process.kill(pid, 'SIGSTOP');
      let goneAt: number;
      try {
        await waitFor(async () => !(await hasRoute(ctx.lab, ctx.ns.weft!, ROUTE[d])), {
          what: `${ROUTE[d]} gone from weft's kernel after ${d} froze`,
          timeoutMs: 5000,
          intervalMs: 10,
          diagnose: () => ctx.weft.logTail(30),
        });
        goneAt = Date.now();
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      const resumedAt = Date.now();
      const down = await waitFor(() => ctx.weft.logEvents('bfd.session-down', d).find((x) => Date.parse(x.time) >= stoppedAt), {
        what: `weft's bfd.session-down for ${d}`,
        timeoutMs: 5000,
      });
      const sent = ctx.weft.logEvents('session.notification-sent', d).find((x) => Date.parse(x.time) >= stoppedAt);
      const detectMs = Date.parse(down.time) - stoppedAt;
      const kernelMs = goneAt - stoppedAt;
      console.log(`bfd interop: ${d} frozen -> BFD Down + Cease after ${detectMs} ms, route out of the kernel after <= ${kernelMs} ms (load ${loadAvg()})`);
      // Cease/10 BFD Down (RFC 9384); when the RFC 8538 N bit was negotiated (FRR 8.4 sets it), a
      // Hard Reset (Cease/9) carrying Cease/10 as its data, so the peer's routes are not kept as stale.
      expect(sent?.code).toBe(6);
      if (sent?.subcode === 9) expect(sent.data).toBe('060a');
      else expect(sent?.subcode).toBe(10);
      console.log(`bfd interop: ${d}: weft sent Cease/${String(sent?.subcode)}${sent?.data ? ` data ${String(sent.data)}` : ''}`);
      // Detection Time 900 ms; the last packet left the peer at most one interval before the stop.
      expect(detectMs).toBeGreaterThanOrEqual(900 - 300 - 50);
      expect(detectMs).toBeLessThanOrEqual(1200);
      expect(kernelMs).toBeLessThanOrEqual(1500);
      // After SIGCONT: BFD and BGP come back by themselves.
      const back = await ctx.weft.waitPeer(d, (p) => p.bfd?.state === 'Up' && (p.bfd.upTransitions ?? 0) >= 2, 'BFD Up again after SIGCONT', 30_000);
      console.log(`bfd interop: ${d} BFD Up again ${Date.now() - resumedAt} ms after SIGCONT (or sooner)`);
      expect(back.bfd?.detectionTimeouts).toBe(1);
      await ctx.weft.waitPeer(d, (p) => p.state === 'Established', 'Established again', 40_000);
      await waitFor(() => hasRoute(ctx.lab, ctx.ns.weft!, ROUTE[d]), { what: `${ROUTE[d]} back in the kernel`, timeoutMs: 15_000 });
    });
  }

  it('malformed and stray BFD packets to weft are dropped and counted; the sessions stay Up', async () => {
    // From the BIRD namespace (a configured peer address) and with garbage; weft must not crash.
    const send = (hex: string) =>
      ctx.lab.exec(ctx.ns.bird!, 'node', ['-e', `const s=require('node:dgram').createSocket('udp4');s.send(Buffer.from('${hex}','hex'),3784,'${W}',()=>s.close());`]);
    await send('20c0'); // short
    await send('40c00318' + '00000001' + '00000000' + '000f4240' + '000493e0' + '00000000'); // version 2
    await send('20c003ff' + '00000001' + '00000000' + '000f4240' + '000493e0' + '00000000'); // Length 255 > 24
    await send('20c00318' + '00000001' + '12345678' + '000f4240' + '000493e0' + '00000000'); // unknown Your Discriminator
    const st = await waitFor(
      async () => {
        const s = await ctx.weft.status();
        const dr = s.bfdDropped ?? {};
        return dr.short && dr.version && dr.length && dr['your-discriminator-unknown'] ? s : undefined;
      },
      { what: 'weft counting the dropped BFD packets', timeoutMs: 10_000 },
    );
    expect(st.bfdDropped).toMatchObject({ short: 1, version: 1, length: 1, 'your-discriminator-unknown': 1 });
    expect(ctx.weft.alive()).toBe(true);
    for (const p of st.peers) expect(p.bfd?.state).toBe('Up');
  });
});

describe.skipIf(skipReason !== undefined)('interop BFD: FRR first, BIRD after weft', () => {
  const ctx = bfdLab('frr', 'bird');
  it('BFD comes Up with both daemons and BGP is Established', async () => {
    await bothUp(ctx);
  });
});

function loadAvg(): string {
  return loadavg().map((x) => x.toFixed(1)).join(' ');
}

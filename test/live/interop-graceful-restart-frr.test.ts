// Graceful restart, receiving speaker (RFC 4724 4.2), against FRR 8.4 as an eBGP ToR with
// `bgp graceful-restart` (restart time 8 s, F bit via preserve-fw-state) announcing 20 pool blocks:
//  - FRR killed (SIGKILL, zebra and bgpd) and started again: weft keeps the 20 routes stale, in the
//    kernel too; FRR's End-of-RIB makes them fresh, and `ip monitor route` in weft's namespace sees
//    no change to a weft route from the kill to the end;
//  - FRR killed and not started again: the routes stay while the restart time runs, then go.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConfig, startAgent, type WeftAgent } from '../helpers/agent.js';
import { run } from '../helpers/exec.js';
import { startFrr, type Frr } from '../helpers/frr.js';
import { lan24 } from '../helpers/interop.js';
import { kernelRoutes, MONITOR_PROBE, startRouteMonitor, stopRouteMonitor } from '../helpers/kernel-routes.js';
import { Lab } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';
import { interopSkipReason } from '../helpers/weft.js';

const skipReason = interopSkipReason(['ip', 'vtysh', '/usr/lib/frr/bgpd', '/usr/lib/frr/zebra']);
if (skipReason) console.warn(`interop-graceful-restart-frr skipped: ${skipReason}`);

const TOR = '10.0.0.1';
const WEFT = '10.0.0.20';
const RESTART_TIME = 8;
const BLOCKS = Array.from({ length: 20 }, (_, i) => `10.244.${50 + Math.floor(i / 4)}.${(i % 4) * 64}/26`).sort();

const torConf = `frr defaults traditional
hostname tor
router bgp 65001
 bgp router-id ${TOR}
 no bgp ebgp-requires-policy
 no bgp network import-check
 bgp graceful-restart
 bgp graceful-restart preserve-fw-state
 bgp graceful-restart restart-time ${RESTART_TIME}
 neighbor ${WEFT} remote-as 64512
 neighbor ${WEFT} timers connect 1
 address-family ipv4 unicast
${BLOCKS.map((b) => `  network ${b}`).join('\n')}
 exit-address-family
`;

describe.skipIf(skipReason !== undefined)('graceful restart with FRR (receiving speaker)', () => {
  let lab: Lab;
  let ns: Record<string, string>;
  let tor: Frr;
  let weft: WeftAgent;

  const diagnose = async () => `${weft?.logTail(30) ?? ''}\n--- tor\n${await tor?.vtysh('show bgp summary').catch((e: Error) => e.message)}`;
  const kernelFromTor = async () => (await kernelRoutes(lab, ns.weft!, 'weft')).filter((r) => r.gateway === TOR).map((r) => r.dst).sort();

  async function established(what: string): Promise<void> {
    await waitFor(async () => (await weft.peer('tor'))?.state === 'Established' && (await tor.neighborState(WEFT)) === 'Established', { what, timeoutMs: 60_000, intervalMs: 200, diagnose });
  }

  async function killTor(): Promise<void> {
    for (const pid of tor.pids) process.kill(pid, 'SIGKILL');
    await waitFor(() => !tor.alive(), { what: 'FRR gone', timeoutMs: 10_000, intervalMs: 20 });
  }

  beforeAll(async () => {
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
    lab = Lab.create();
    ns = await lan24(lab, { tor: TOR, weft: WEFT });
    tor = await startFrr(lab, ns.tor!, { bgpdConf: torConf });
    weft = await startAgent(lab, ns.weft!, {
      name: 'weft',
      config: agentConfig('weft', `${WEFT}/24`, {
        mesh: { enabled: false },
        peers: [{ name: 'tor', address: TOR, asn: 65001, holdTime: 9, connectRetry: 1 }],
        pools: [{ cidr: '10.244.0.0/16', blockSize: 26 }],
        blocks: ['10.244.20.0/26'],
      }),
    });
    await established('the eBGP session Established at both ends');
    await waitFor(async () => JSON.stringify(await kernelFromTor()) === JSON.stringify(BLOCKS), { what: "weft's kernel has the ToR's 20 blocks", timeoutMs: 30_000, intervalMs: 200, diagnose });
  }, 180_000);

  afterAll(async () => {
    const problems = await lab?.cleanup();
    expect(problems ?? []).toEqual([]);
  });

  it('FRR killed and started again: the routes stay stale and in the kernel; End-of-RIB, no kernel change', async () => {
    const monitor = await startRouteMonitor(lab, ns.weft!, 'weft-route-monitor-frr');
    await killTor();
    const down = await weft.waitPeer('tor', (p) => p.state !== 'Established', 'leaves Established after the kill', 20_000);
    expect(down.gracefulRestart).toMatchObject({ stale: BLOCKS.length, state: 'peer restarting' });
    expect((await weft.routes()).filter((r) => r.source === 'peer' && r.stale).map((r) => r.prefix).sort()).toEqual(BLOCKS);
    expect(await kernelFromTor()).toEqual(BLOCKS);

    tor = await startFrr(lab, ns.tor!, { bgpdConf: torConf });
    await established('the session back after FRR restarted');
    await weft.waitPeer('tor', (p) => p.gracefulRestart?.stale === 0 && p.accepted === BLOCKS.length, 'has no stale route left (End-of-RIB)', 60_000);
    // Re-announced routes replace the stale ones before the End-of-RIB comes: wait for its sweep.
    const ended = await waitFor(() => weft.logEvents('gr.stale-removed').at(-1), { what: 'the End-of-RIB sweep logged', timeoutMs: 30_000, intervalMs: 50 });
    expect(ended).toMatchObject({ why: 'End-of-RIB', routes: 0 });
    expect(await kernelFromTor()).toEqual(BLOCKS);
    const weftLines = readFileSync(monitor.logPath, 'utf8').split('\n').filter((l) => / proto (weft|249)\b/.test(l) && !l.includes(MONITOR_PROBE));
    console.log(`[graceful restart, FRR] ${BLOCKS.length} routes kept stale through an FRR kill and restart, ${weftLines.length} kernel changes to weft routes`);
    expect(weftLines).toEqual([]);
    monitor.signal('SIGTERM');
    await stopRouteMonitor(lab, ns.weft!, monitor);
  }, 180_000);

  it(`FRR killed for good: the routes stay while its restart time (${RESTART_TIME} s) runs, then go from the RIB and the kernel`, async () => {
    await established('the session Established before the kill');
    const t0 = Date.now();
    await killTor();
    await weft.waitPeer('tor', (p) => p.state !== 'Established', 'leaves Established after the kill', 20_000);
    // Half the restart time later, still there.
    await waitFor(() => Date.now() - t0 >= (RESTART_TIME * 1000) / 2, { what: 'half the restart time', timeoutMs: RESTART_TIME * 1000, intervalMs: 100 });
    expect(await kernelFromTor()).toEqual(BLOCKS);
    expect((await weft.peer('tor'))?.gracefulRestart?.stale).toBe(BLOCKS.length);
    await waitFor(async () => (await kernelFromTor()).length === 0 && (await weft.learned()).length === 0, { what: 'the stale routes gone after the restart time', timeoutMs: 30_000, intervalMs: 100, diagnose });
    const goneAfterMs = Date.now() - t0;
    console.log(`[graceful restart, FRR] never back: routes gone ${goneAfterMs} ms after the kill (restart time ${RESTART_TIME} s)`);
    expect(goneAfterMs).toBeGreaterThanOrEqual(RESTART_TIME * 1000 - 500);
    expect(weft.logEvents('gr.stale-removed').at(-1)).toMatchObject({ why: `restart time ${RESTART_TIME} s passed without the session` });
  }, 120_000);
});

// Interop, case 2: a peer that stops answering. Each daemon (BIRD, FRR's bgpd, GoBGP) is frozen with
// SIGSTOP; with hold time 3 s configured on weft, weft's hold timer expires within hold time + 1 s
// of the stop and weft sends a NOTIFICATION Hold Timer Expired (code 4). After SIGCONT every
// session comes back to Established by itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBird, type Bird } from '../helpers/bird.js';
import { startFrr, type Frr } from '../helpers/frr.js';
import { startGobgp, type Gobgp } from '../helpers/gobgp.js';
import { birdToWeft, frrToWeft, gobgpGlobal, gobgpNeighbor, lan24 } from '../helpers/interop.js';
import { Lab } from '../helpers/netns.js';
import { bgpMessages, capture, dissect, type Capture } from '../helpers/tshark.js';
import { waitFor } from '../helpers/wait.js';
import { interopSkipReason, startWeft, type Weft } from '../helpers/weft.js';

const AS_W = 4200000001;
const AS_D = 4200000002;
const HOLD = 3;
const skipReason = interopSkipReason();
if (skipReason) console.warn(`interop-hold-timer skipped: ${skipReason}`);

const W = '10.0.0.1';
const ADDR = { bird: '10.0.0.11', frr: '10.0.0.12', gobgp: '10.0.0.13' } as const;
type Daemon = keyof typeof ADDR;
const DAEMONS = Object.keys(ADDR) as Daemon[];

const weftConfig = {
  asn: AS_W,
  routerId: W,
  peers: DAEMONS.map((d) => ({ name: d, address: ADDR[d], asn: AS_D, holdTime: HOLD, connectRetry: 1 })),
  announce: [{ prefix: '10.101.0.0/24', communities: ['65000:1'] }],
};

const birdConf = birdToWeft({ as: AS_D, weft: W, weftAs: AS_W });
const frrConf = frrToWeft({ as: AS_D, routerId: ADDR.frr, weft: W, weftAs: AS_W });

const gobgpToml = gobgpGlobal(AS_D, ADDR.gobgp) + gobgpNeighbor({ address: W, peerAs: AS_W });

describe.skipIf(skipReason !== undefined)('interop: hold timer expiry against a frozen BIRD, FRR and GoBGP', () => {
  let lab: Lab;
  let weft: Weft;
  let bird: Bird;
  let frr: Frr;
  let gobgp: Gobgp;
  const pids = {} as Record<Daemon, number>;
  const stoppedAt = {} as Record<Daemon, number>;
  let resumedAt = 0;
  let cap: Capture;

  beforeAll(async () => {
    lab = Lab.create();
    const ns = await lan24(lab, { weft: W, ...ADDR });
    cap = await capture(lab, ns.weft!, 'eth0', 'tcp port 179');
    [bird, frr, gobgp, weft] = await Promise.all([
      startBird(lab, ns.bird!, { routerId: ADDR.bird, config: birdConf }),
      startFrr(lab, ns.frr!, { bgpdConf: frrConf }),
      startGobgp(lab, ns.gobgp!, { toml: gobgpToml, logLevel: 'warn' }),
      startWeft(lab, ns.weft!, { config: weftConfig }),
    ]);
    // FRR: freeze bgpd only (pids are [zebra, bgpd]).
    Object.assign(pids, { bird: bird.pid, frr: frr.pids[1]!, gobgp: gobgp.pid });
  });

  afterAll(async () => {
    // Never leave a daemon frozen: a stopped process still dies on SIGKILL, but be tidy.
    for (const pid of Object.values(pids)) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone
      }
    }
    expect((await lab?.cleanup()) ?? []).toEqual([]);
  });

  it('sessions come up with the 3 s hold time negotiated', async () => {
    for (const d of DAEMONS) await weft.waitPeerState(ADDR[d], 'Established', 30_000);
    for (const d of DAEMONS) {
      const e = weft.logEvents('session.established', d).at(-1);
      expect(e?.holdTime, `${d} negotiated hold time`).toBe(HOLD);
    }
  });

  it('weft sends Hold Timer Expired within hold time + 1 s of each daemon freezing (SIGSTOP)', async () => {
    for (const d of DAEMONS) {
      stoppedAt[d] = Date.now();
      process.kill(pids[d], 'SIGSTOP');
    }
    const sent = await waitFor(
      () => {
        const out = {} as Record<Daemon, { time: string; code?: unknown; subcode?: unknown; errorCode?: unknown }>;
        for (const d of DAEMONS) {
          const n = weft.logEvents('session.notification-sent', d).find((x) => Date.parse(x.time) >= stoppedAt[d] - 5);
          if (!n) return undefined;
          out[d] = n;
        }
        return out;
      },
      { what: 'weft to send a NOTIFICATION to every frozen daemon', timeoutMs: (HOLD + 5) * 1000, diagnose: () => weft.logTail(40) },
    );
    for (const d of DAEMONS) {
      const n = sent[d];
      const delayMs = Date.parse(n.time) - stoppedAt[d];
      console.log(`hold timer: ${d} NOTIFICATION ${String(n.code)}/${String(n.subcode)} ${delayMs} ms after SIGSTOP`);
      expect(n.code, `${d}: NOTIFICATION code`).toBe(4);
      expect(n.subcode).toBe(0);
      expect(n.errorCode).toBe('hold-timer-expired');
      // The daemon's last KEEPALIVE (every second at hold 3) came at most ~1 s before the stop.
      expect(delayMs, `${d}: hold expiry ${delayMs} ms after SIGSTOP`).toBeLessThanOrEqual((HOLD + 1) * 1000);
      expect(delayMs, `${d}: hold expiry ${delayMs} ms after SIGSTOP`).toBeGreaterThanOrEqual((HOLD - 1.5) * 1000);
      expect(weft.peer(ADDR[d])?.state).not.toBe('Established');
      expect(weft.peer(ADDR[d])?.lastError ?? '').toMatch(/hold/i);
    }
  });

  it('the NOTIFICATION went on the wire: code 4 from weft to each daemon', async () => {
    const packets = await dissect(await cap.stop(), 'bgp.type == 3');
    for (const d of DAEMONS) {
      const notes = packets.filter((p) => {
        const ip = p._source.layers.ip as Record<string, string> | undefined;
        return ip?.['ip.src'] === W && ip['ip.dst'] === ADDR[d];
      });
      // tshark names the subcode field after the error code (bgp.notify.minor_*), so read the first.
      const codes = bgpMessages(notes).map((m) => {
        const minor = Object.entries(m).find(([k]) => k.startsWith('bgp.notify.minor'))?.[1];
        return `${String(m['bgp.notify.major_error'])}/${String(minor ?? 0)}`;
      });
      expect(codes, `NOTIFICATIONs from weft to ${d} on the wire`).toEqual(['4/0']);
    }
  });

  it('after SIGCONT every session comes back to Established on its own', async () => {
    resumedAt = Date.now();
    for (const d of DAEMONS) process.kill(pids[d], 'SIGCONT');
    for (const d of DAEMONS) {
      const back = await weft.waitEvent('session.established', {
        peer: d,
        match: (x) => Date.parse(x.time) >= resumedAt - 5,
        what: `weft session with ${d} Established again after SIGCONT`,
        timeoutMs: 30_000,
        tail: 40,
      });
      console.log(`hold timer: ${d} Established again ${Date.parse(back.time) - resumedAt} ms after SIGCONT`);
    }
    await waitFor(async () => (await bird.protocolState('weft')) === 'Established', { what: 'BIRD Established again', timeoutMs: 10_000 });
    await waitFor(async () => (await frr.neighborState(W)) === 'Established', { what: 'FRR Established again', timeoutMs: 10_000 });
    await waitFor(async () => (await gobgp.neighborState(W)) === 6, { what: 'GoBGP Established again', timeoutMs: 10_000 });
    for (const d of DAEMONS) expect(weft.peer(ADDR[d])?.state).toBe('Established');
  });
});

// Interop, case 3: misconfiguration is visible at both ends.
// - weft configured with the wrong AS for BIRD / FRR: weft sends OPEN Message Error / Bad Peer AS
//   (2/2), its log and state file say so, and BIRD / FRR show that they received "Bad peer AS".
// - BIRD / FRR configured with the wrong AS for weft: they send 2/2, weft logs the NOTIFICATION it
//   received and its state file's lastError says so.
// - A BIRD that weft does not list dials weft: weft refuses the connection (listener.refused with
//   that address) and a capture on that link shows no BGP OPEN from weft.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBird, type Bird } from '../helpers/bird.js';
import { startFrr, type Frr } from '../helpers/frr.js';
import { birdToWeft, frrToWeft, lan24 } from '../helpers/interop.js';
import { Lab } from '../helpers/netns.js';
import { bgpMessages, capture, dissect, type Capture } from '../helpers/tshark.js';
import { waitFor } from '../helpers/wait.js';
import { interopSkipReason, startWeft, type Weft } from '../helpers/weft.js';

const AS_W = 4200000001;
const AS_D = 4200000002;
const AS_WRONG = 4200000099;
const skipReason = interopSkipReason(['ip', 'bird', 'birdc', 'vtysh', 'tcpdump', 'tshark', '/usr/lib/frr/bgpd']);
if (skipReason) console.warn(`interop-misconfig skipped: ${skipReason}`);

const W = '10.0.0.1';
/** *Bad: weft has the wrong AS for them; *Wrong: they have the wrong AS for weft. */
const ADDR = { birdBad: '10.0.0.11', frrBad: '10.0.0.12', birdWrong: '10.0.0.13', frrWrong: '10.0.0.14', stranger: '10.0.0.21' } as const;

const weftConfig = {
  asn: AS_W,
  routerId: W,
  peers: [
    { name: 'birdBad', address: ADDR.birdBad, asn: AS_WRONG, holdTime: 9, connectRetry: 1 },
    // Passive with FRR: FRR keeps what happens on a connection it accepted on a separate
    // (doppelganger) peer, so its neighbour JSON only shows a NOTIFICATION exchanged on its own dial.
    { name: 'frrBad', address: ADDR.frrBad, asn: AS_WRONG, holdTime: 9, connectRetry: 1, passive: true },
    { name: 'birdWrong', address: ADDR.birdWrong, asn: AS_D, holdTime: 9, connectRetry: 1 },
    { name: 'frrWrong', address: ADDR.frrWrong, asn: AS_D, holdTime: 9, connectRetry: 1, passive: true },
  ],
  announce: [{ prefix: '10.101.0.0/24' }],
};

const birdConf = (weftAs: number) => birdToWeft({ as: AS_D, weft: W, weftAs });
const frrConf = (me: string, weftAs: number) => frrToWeft({ as: AS_D, routerId: me, weft: W, weftAs });

type FrrNeighbor = Record<string, unknown> & { bgpState?: string; lastNotificationReason?: string; lastErrorCodeSubcode?: string };

describe.skipIf(skipReason !== undefined)('interop: misconfiguration seen at both ends, unknown neighbours refused', () => {
  let lab: Lab;
  let weft: Weft;
  let birdBad: Bird;
  let frrBad: Frr;
  let birdWrong: Bird;
  let frrWrong: Frr;
  let stranger: Bird;
  let cap: Capture;

  beforeAll(async () => {
    lab = Lab.create();
    const ns = await lan24(lab, { weft: W, ...ADDR });
    cap = await capture(lab, ns.stranger!, 'eth0', 'tcp port 179');
    [birdBad, frrBad, birdWrong, frrWrong, stranger, weft] = await Promise.all([
      startBird(lab, ns.birdBad!, { routerId: ADDR.birdBad, config: birdConf(AS_W) }),
      startFrr(lab, ns.frrBad!, { bgpdConf: frrConf(ADDR.frrBad, AS_W) }),
      startBird(lab, ns.birdWrong!, { routerId: ADDR.birdWrong, config: birdConf(AS_WRONG) }),
      startFrr(lab, ns.frrWrong!, { bgpdConf: frrConf(ADDR.frrWrong, AS_WRONG) }),
      startBird(lab, ns.stranger!, { routerId: ADDR.stranger, config: birdConf(AS_W) }),
      startWeft(lab, ns.weft!, { config: weftConfig }),
    ]);
  });

  afterAll(async () => {
    await cap?.stop().catch(() => undefined);
    expect((await lab?.cleanup()) ?? []).toEqual([]);
  });

  it('weft with the wrong peer AS: weft sends 2/2 Bad Peer AS, and its state file says so', async () => {
    for (const name of ['birdBad', 'frrBad'] as const) {
      const sent = await weft.waitEvent('session.notification-sent', { peer: name, match: (n) => n.code === 2, what: `weft to send an OPEN error to ${name}` });
      expect(sent.subcode).toBe(2);
      expect(sent.errorCode).toBe('open.bad-peer-as');
      // The log line comes before the state file is rewritten (on the Transition that follows):
      // wait for the file to show the error the assertion below checks.
      const lastError = new RegExp(`peer AS ${AS_D}\\b.*expected ${AS_WRONG}`);
      const p = await waitFor(
        () => {
          const x = weft.peer(ADDR[name]);
          return x?.lastError !== undefined && lastError.test(x.lastError) ? x : undefined;
        },
        { what: `weft's state file to show ${name}'s last error`, timeoutMs: 10_000, diagnose: () => JSON.stringify(weft.peer(ADDR[name]) ?? null) },
      );
      expect(p.state).not.toBe('Established');
      expect(p.lastError, `${name} lastError`).toMatch(lastError);
    }
  });

  it('... and BIRD and FRR show that they received Bad peer AS', async () => {
    const birdText = await waitFor(
      async () => {
        const t = await birdBad.birdc('show', 'protocols', 'all', 'weft');
        return /Last error:\s+Received: Bad peer AS/.test(t) ? t : undefined;
      },
      { what: 'BIRD Last error "Received: Bad peer AS"', timeoutMs: 15_000, diagnose: () => birdBad.birdc('show', 'protocols', 'all', 'weft') },
    );
    expect(birdText).not.toMatch(/Established/);
    console.log(`misconfig: BIRD (weft wrong) ${/Last error:.*/.exec(birdText)?.[0]}`);
    const n = await waitFor(
      async () => {
        const j = await frrBad.vtyshJson<Record<string, FrrNeighbor>>(`show bgp neighbors ${W} json`);
        const nb = j[W];
        return nb?.lastErrorCodeSubcode === '0202' ? nb : undefined;
      },
      { what: 'FRR lastErrorCodeSubcode 0202', timeoutMs: 15_000, diagnose: async () => (await frrBad.vtysh(`show bgp neighbors ${W} json`)).split('\n').filter((l) => /last|State|message|notif/i.test(l)).join('\n') + (await frrBad.vtysh(`show bgp neighbors ${W}`)) },
    );
    console.log(`misconfig: FRR (weft wrong) lastNotificationReason=${String(n.lastNotificationReason)} lastErrorCodeSubcode=${String(n.lastErrorCodeSubcode)}`);
    expect(n.lastNotificationReason).toMatch(/Bad Peer AS/i);
  });
  it('peer with the wrong AS for weft: BIRD and FRR send 2/2, weft logs it and its lastError says so', async () => {
    for (const name of ['birdWrong', 'frrWrong'] as const) {
      const got = await weft.waitEvent('session.notification-received', { peer: name, match: (n) => n.code === 2, what: `weft to receive an OPEN error from ${name}` });
      expect(got.subcode, `${name} subcode`).toBe(2);
      // The log line comes before the state file is rewritten: wait for the file to catch up.
      const p = await waitFor(() => {
        const x = weft.peer(ADDR[name]);
        return x?.lastError !== undefined ? x : undefined;
      }, { what: `weft's state file to show ${name}'s last error`, timeoutMs: 10_000 });
      expect(p.state).not.toBe('Established');
      console.log(`misconfig: weft lastError for ${name}: ${String(p.lastError)}`);
      expect(p.lastError, `${name} lastError`).toMatch(/bad peer as/i);
      expect(weft.logEvents('session.notification-sent', name).filter((n) => n.code === 2)).toEqual([]);
    }
    const birdText = await birdWrong.birdc('show', 'protocols', 'all', 'weft');
    console.log(`misconfig: BIRD (BIRD wrong) ${/Last error:.*/.exec(birdText)?.[0]}`);
    expect(birdText).toMatch(/Last error:\s+BGP Error: Bad peer AS/);
    const j = await waitFor(
      async () => {
        const nb = (await frrWrong.vtyshJson<Record<string, FrrNeighbor>>(`show bgp neighbors ${W} json`))[W];
        return nb?.lastErrorCodeSubcode === '0202' ? nb : undefined;
      },
      { what: 'FRR (wrong AS) lastErrorCodeSubcode 0202', timeoutMs: 10_000, diagnose: () => frrWrong.vtysh(`show bgp neighbors ${W}`) },
    );
    console.log(`misconfig: FRR (FRR wrong) lastNotificationReason=${String(j.lastNotificationReason)} lastErrorCodeSubcode=${String(j.lastErrorCodeSubcode)}`);
    expect(j.lastNotificationReason).toMatch(/Bad Peer AS/i);
    expect(frrWrong.logTail()).toMatch(/BGP OPEN receipt failed for peer: 10\.0\.0\.1/);
  });

  it('a connection from an unlisted address is refused: listener.refused, and no OPEN from weft on the wire', async () => {
    const refused = await weft.waitEvent('listener.refused', { match: (e) => e.remoteAddress === ADDR.stranger, what: `weft to refuse a connection from ${ADDR.stranger}` });
    expect(refused.remoteAddress).toBe(ADDR.stranger);
    // Let BIRD dial at least twice more (connect retry 1 s), so the capture spans several attempts.
    await waitFor(() => weft.logEvents('listener.refused').filter((e) => e.remoteAddress === ADDR.stranger).length >= 3, {
      what: 'three refused connections',
      timeoutMs: 15_000,
    });
    expect(weft.state().refusedConnections).toBeGreaterThanOrEqual(3);
    expect(weft.state().peers.map((p) => p.address)).not.toContain(ADDR.stranger);
    expect(await stranger.protocolState('weft')).not.toBe('Established');
    const pcap = await cap.stop();
    // The TCP handshake did complete (weft's kernel accepted), so "no OPEN" is not for want of a connection.
    const synAcks = await dissect(pcap, `ip.src == ${W} && tcp.flags.syn == 1 && tcp.flags.ack == 1`);
    expect(synAcks.length).toBeGreaterThanOrEqual(1);
    const fromWeft = bgpMessages(await dissect(pcap, `bgp && ip.src == ${W}`));
    expect(fromWeft.map((m) => Number(m['bgp.type']))).not.toContain(1);
    expect(fromWeft).toEqual([]);
  });
});

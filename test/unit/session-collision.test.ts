/** RFC 4271 6.8 collision resolution, RFC 6286 2.3 tie-break, and the mesh dialling rule. */
import { describe, expect, it } from 'vitest';
import { compareAddresses, detectCollision, resolveCollision, shouldDial, step, type SessionState } from '../../src/session/index.js';
import { EVENTS, peerOpen, reach, run, session, types } from './session-fixtures.js';

describe('resolveCollision', () => {
  const base = { localAs: 64512, peerAs: 64512 };

  it('our identifier higher: our (outbound) connection survives, the inbound one closes with Cease/7', () => {
    const d = resolveCollision({ ...base, localBgpId: '10.0.0.2', peerBgpId: '10.0.0.1' });
    expect([d.keep, d.close]).toEqual(['outbound', 'inbound']);
    expect([d.notification.code, d.notification.notification.code, d.notification.notification.subcode]).toEqual(['cease.connection-collision', 6, 7]);
  });

  it('peer identifier higher: the peer-initiated (inbound) connection survives', () => {
    const d = resolveCollision({ ...base, localBgpId: '10.0.0.1', peerBgpId: '10.0.0.2' });
    expect([d.keep, d.close]).toEqual(['inbound', 'outbound']);
  });

  it('compares identifiers as unsigned 32-bit numbers', () => {
    expect(resolveCollision({ ...base, localBgpId: '200.0.0.1', peerBgpId: '10.0.0.1' }).keep).toBe('outbound');
    expect(resolveCollision({ ...base, localBgpId: '10.0.0.9', peerBgpId: '10.0.0.10' }).keep).toBe('inbound');
  });

  it('equal identifiers (eBGP): the speaker with the larger AS keeps its connection (RFC 6286 2.3)', () => {
    expect(resolveCollision({ localBgpId: '1.1.1.1', peerBgpId: '1.1.1.1', localAs: 65002, peerAs: 65001 }).keep).toBe('outbound');
    expect(resolveCollision({ localBgpId: '1.1.1.1', peerBgpId: '1.1.1.1', localAs: 65001, peerAs: 65002 }).keep).toBe('inbound');
  });

  it('an Established connection always wins', () => {
    const d = resolveCollision({ ...base, localBgpId: '10.0.0.1', peerBgpId: '10.0.0.2', established: 'outbound' });
    expect([d.keep, d.close]).toEqual(['outbound', 'inbound']);
  });
});

describe('detectCollision over two sessions', () => {
  it('decides once both connections have the peer OPEN (RFC 4271 6.8); the loser gets OpenCollisionDump', () => {
    const outbound: SessionState = reach('OpenConfirm', {}, peerOpen({ bgpId: '10.0.0.2' })); // ours 10.0.0.1
    const inboundOpenSent = run(session(), [[EVENTS.ManualStart_Passive, 0], [EVENTS.TcpConnectionConfirmed, 15]]).state;
    expect(inboundOpenSent.connection).toBe('inbound');
    // The inbound connection has not heard the peer yet: no decision, it may be the one the peer keeps.
    expect(detectCollision(outbound, inboundOpenSent)).toBeUndefined();
    const inbound = step(inboundOpenSent, { type: 'BGPOpen', open: peerOpen({ bgpId: '10.0.0.2' }) }, 20).state;
    expect(inbound.name).toBe('OpenConfirm');
    const d = detectCollision(outbound, inbound);
    expect(d?.keep).toBe('inbound');
    const r = step(outbound, EVENTS.OpenCollisionDump, 40);
    expect(r.state.name).toBe('Idle');
    expect(types(r.actions)).toEqual(['SendNotification', 'Disconnect', 'ReleaseResources', 'Transition']);
    expect(r.actions[0]).toMatchObject({ code: 6, subcode: 7 });
  });

  it('no decision before any OPEN, or for two connections of the same direction', () => {
    const a = reach('OpenSent');
    const b = run(session(), [[EVENTS.ManualStart_Passive, 0], [EVENTS.TcpConnectionConfirmed, 15]]).state;
    expect(detectCollision(a, b)).toBeUndefined();
    expect(detectCollision(reach('OpenConfirm'), reach('OpenSent'))).toBeUndefined();
  });

  it('an Established session is kept', () => {
    const est = reach('Established', {}, peerOpen({ bgpId: '10.0.0.2' }));
    const inbound = run(session(), [[EVENTS.ManualStart_Passive, 0], [EVENTS.TcpConnectionConfirmed, 15], [EVENTS.BGPOpen, 16]]).state;
    expect(detectCollision(est, inbound)?.keep).toBe('outbound');
  });
});

describe('shouldDial (Calico mesh rule: the address whose text sorts higher dials)', () => {
  // calico-node's confd (confd/pkg/backends/calico/bgp_processor.go) renders `passive on` towards
  // a mesh peer when `peerIP > currentNodeIP`, a Go string comparison of the address text.
  it('exactly one side of a pair dials', () => {
    expect(shouldDial('10.0.1.12', '10.0.1.11')).toBe(true);
    expect(shouldDial('10.0.1.11', '10.0.1.12')).toBe(false);
    expect(shouldDial('10.0.1.10', '10.0.1.10')).toBe(false); // ourselves: neither
  });

  it('compares text, not numbers: 10.0.0.9 dials 10.0.0.10, 10.0.0.20 dials 10.0.0.100', () => {
    expect(shouldDial('10.0.0.9', '10.0.0.10')).toBe(true);
    expect(shouldDial('10.0.0.10', '10.0.0.9')).toBe(false);
    expect(shouldDial('10.0.0.20', '10.0.0.100')).toBe(true);
    expect(shouldDial('10.0.0.100', '10.0.0.20')).toBe(false);
    expect(shouldDial('9.0.0.1', '10.0.0.1')).toBe(true);
    expect(shouldDial('192.168.1.2', '192.168.10.1')).toBe(false); // '1' then '.' (0x2e) < '0' (0x30)
  });

  it('IPv6 compares as text too: fd00::2 dials fd00::10, and a letter sorts above a digit', () => {
    expect(shouldDial('fd00::2', 'fd00::10')).toBe(true);
    expect(shouldDial('fd00::10', 'fd00::2')).toBe(false);
    expect(shouldDial('fd00::a', 'fd00::9')).toBe(true);
    expect(shouldDial('fd00::9', 'fd00::a')).toBe(false);
  });

  it('of any set of addresses, each pair has exactly one dialler', () => {
    const nodes = ['10.0.0.9', '10.0.0.10', '10.0.0.20', '10.0.0.100', '10.0.0.2'];
    for (const a of nodes) for (const b of nodes) if (a !== b) expect(shouldDial(a, b) !== shouldDial(b, a)).toBe(true);
  });

  it('compareAddresses still orders by value (IPv4 before IPv6)', () => {
    expect(compareAddresses('10.0.0.9', '10.0.0.10')).toBeLessThan(0);
    expect(compareAddresses('255.255.255.255', '::1')).toBeLessThan(0);
  });
});

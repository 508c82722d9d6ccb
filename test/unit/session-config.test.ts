/** Session configuration: defaults and the errors a bad configuration gives. */
import { describe, expect, it } from 'vitest';
import { createSession, localCapabilities, resolveConfig } from '../../src/session/index.js';
import { config } from './session-fixtures.js';

describe('session config', () => {
  it('fills RFC 4271 10 defaults and the default capabilities', () => {
    const c = resolveConfig({ localAs: 64512, bgpId: '10.0.0.1', peerAs: 'internal' });
    expect([c.holdTime, c.connectRetryTime, c.openSentHoldTime, c.passive, c.keepaliveTime]).toEqual([90, 120, 240, false, undefined]);
    expect(c.capabilities).toEqual(localCapabilities({ localAs: 64512 }));
    expect(c.idleHold).toEqual({ initialMs: 1000, maxMs: 120_000, stableMs: 60_000 });
    const s = createSession(config());
    expect([s.name, s.connectRetryCounter, s.autoRestart]).toEqual(['Idle', 0, false]);
  });

  it.each([
    [{ holdTime: 2 }, /holdTime must be 0 or at least 3/],
    [{ bgpId: '0.0.0.0' }, /bgpId/],
    [{ bgpId: '10.0.0' }, /bgpId/],
    [{ localAs: 0 }, /localAs/],
    [{ peerAs: 'both' as never }, /peerAs/],
    [{ connectRetryTime: 0 }, /connectRetryTime/],
    [{ localAs: 4_200_000_000, capabilities: [] }, /must include four-octet-as/],
    [{ capabilities: localCapabilities({ localAs: 65001 }) }, /four-octet AS 65001, not localAs 64512/],
    [{ requiredFamilies: [{ afi: 2, safi: 1 }] }, /requiredFamilies include 2\/1/],
    [{ idleHold: { initialMs: 5000, maxMs: 1000 } }, /idleHold.maxMs/],
  ])('refuses %j', (over, message) => {
    expect(() => createSession(config(over))).toThrow(message);
  });
});

/** ManualStop / AutomaticStop carrying the Cease data of RFC 4486 4 (max-prefix: AFI, SAFI, limit). */
import { describe, expect, it } from 'vitest';
import { step, stopError, type Action } from '../../src/session/index.js';
import { toHex } from '../../src/lib/hex.js';
import { reach, types } from './session-fixtures.js';

function notification(actions: Action[]): Extract<Action, { type: 'SendNotification' }> {
  const a = actions.find((x): x is Extract<Action, { type: 'SendNotification' }> => x.type === 'SendNotification');
  if (!a) throw new Error(`no SendNotification in ${types(actions).join(',')}`);
  return a;
}

// AFI 1 (IPv4), SAFI 1 (unicast), limit 5.
const MAX_PREFIX_DATA = Uint8Array.of(0, 1, 1, 0, 0, 0, 5);

describe('stop events with Cease data', () => {
  it('ManualStop with cause max-prefixes sends Cease/1 with the 7 data octets and does not restart', () => {
    const r = step(reach('Established'), { type: 'ManualStop', cause: 'cease.max-prefixes', data: MAX_PREFIX_DATA }, 100);
    const n = notification(r.actions);
    expect([n.code, n.subcode, n.errorCode]).toEqual([6, 1, 'cease.max-prefixes']);
    expect(toHex(n.data)).toBe('00010100000005');
    expect(r.state.name).toBe('Idle');
    expect(r.state.autoRestart).toBe(false);
    expect(r.state.timers.idleHold).toBeUndefined();
    expect(r.state.lastError).toMatchObject({ direction: 'sent', code: 6, subcode: 1 });
    expect(toHex(r.state.lastError!.data!)).toBe('00010100000005');
    // One clean step: no "restart cancelled" note, the SessionDown carries the cause.
    expect(r.actions.some((a) => a.type === 'Log' && /cancelled/.test(a.message))).toBe(false);
    expect(r.actions.find((a) => a.type === 'SessionDown')).toMatchObject({ reason: 'ManualStop (cease.max-prefixes)' });
  });

  it('AutomaticStop carries the data too', () => {
    const r = step(reach('OpenConfirm'), { type: 'AutomaticStop', cause: 'cease.max-prefixes', data: MAX_PREFIX_DATA }, 100);
    expect(toHex(notification(r.actions).data)).toBe('00010100000005');
  });

  it('without data the NOTIFICATION data stays empty; text subcodes keep the RFC 9003 text', () => {
    expect(stopError('cease.max-prefixes', undefined).notification.data.length).toBe(0);
    expect(toHex(stopError('cease.max-prefixes', 'ignored text', MAX_PREFIX_DATA).notification.data)).toBe('00010100000005');
    expect(toHex(stopError('cease.administrative-reset', 'x', MAX_PREFIX_DATA).notification.data)).toBe('0178');
  });
});

// The failover check's arithmetic: loss and the longest gap from the answered sequence numbers,
// and the next hops of `ip -json route show PREFIX` (single and multipath routes).
import { describe, expect, it } from 'vitest';
import { lossOf, parseNexthops, silentRuleset } from '../../src/lab/failover.js';

describe('lossOf', () => {
  it('no loss: every sequence number answered', () => {
    expect(lossOf([1, 2, 3, 4, 5], 5, 50, 3)).toEqual({ sent: 5, received: 5, lost: 0, longestGapMs: 0, recovered: true });
  });

  it('a run of losses in the middle, counted once per sequence number (duplicates ignored)', () => {
    const replies = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 141, 142, 143, 143, 144, 150];
    expect(lossOf(replies, 150, 50, 10)).toEqual({ sent: 150, received: 15, lost: 135, longestGapMs: 130 * 50, recovered: true });
  });

  it('losses at the start and at the end count; no reply after the failure is not recovered', () => {
    expect(lossOf([3, 4, 5], 9, 20, 5)).toEqual({ sent: 9, received: 3, lost: 6, longestGapMs: 4 * 20, recovered: false });
    expect(lossOf([], 4, 50, 0)).toMatchObject({ lost: 4, longestGapMs: 200, recovered: false });
  });
});

describe('silentRuleset', () => {
  it('drops every frame in and out of the given interfaces (netdev ingress and egress), in a table of its own', () => {
    expect(silentRuleset(['eth1', 'eth2'])).toBe(
      [
        'table netdev weft-lab-silent {',
        '  chain in { type filter hook ingress devices = { eth1, eth2 } priority -500; policy drop; }',
        '  chain out { type filter hook egress devices = { eth1, eth2 } priority -500; policy drop; }',
        '}',
        '',
      ].join('\n'),
    );
  });
});

describe('parseNexthops', () => {
  it('a single-path route (nexthop object or plain)', () => {
    expect(parseNexthops([{ dst: '10.244.2.0/26', nhid: 7, gateway: '10.78.1.10', dev: 'eth1', protocol: 'weft', flags: [] }])).toEqual([{ via: '10.78.1.10', dev: 'eth1' }]);
    expect(parseNexthops([{ dst: '10.244.3.0/26', gateway: '10.77.2.13', dev: 'weft.vxlan', flags: ['onlink'] }])).toEqual([{ via: '10.77.2.13', dev: 'weft.vxlan' }]);
  });

  it('a multipath route: every next hop, in order', () => {
    const json = [
      {
        dst: '10.244.2.0/26',
        protocol: 'weft',
        flags: [],
        nexthops: [
          { gateway: '10.78.1.10', dev: 'eth1', weight: 1, flags: [] },
          { gateway: '10.78.2.10', dev: 'eth2', weight: 1, flags: ['linkdown'] },
        ],
      },
    ];
    expect(parseNexthops(json)).toEqual([
      { via: '10.78.1.10', dev: 'eth1' },
      { via: '10.78.2.10', dev: 'eth2' },
    ]);
  });

  it('no route, or a blackhole (no device)', () => {
    expect(parseNexthops([])).toEqual([]);
    expect(parseNexthops([{ type: 'blackhole', dst: '10.244.1.0/26', protocol: 'weft', flags: [] }])).toEqual([]);
    expect(parseNexthops([{ type: 'blackhole', dst: 'fd00:244:0:1::/122', dev: 'lo', protocol: 'weft', flags: [] }])).toEqual([]);
  });
});

// What `weft status` and `weft routes` print for graceful restart: the GRACEFUL RESTART column
// (only while it is at work for some peer) and a stale route's FROM cell.
import { describe, expect, it } from 'vitest';
import { formatRoutes } from '../../src/cli/routes.js';
import { grCell } from '../../src/cli/status.js';
import type { RouteView } from '../../src/agent/control/protocol.js';

const route = (over: Partial<RouteView>): RouteView => ({
  prefix: '10.244.10.0/26', source: 'peer', peer: 'host-b', peerAddress: '10.0.1.10', nextHop: '10.0.1.10', asPath: '', origin: 'igp',
  localPref: 100, med: undefined, communities: [], originatorId: undefined, clusterList: [], reason: 'only path', candidates: 1, ...over,
});

describe('graceful restart in the CLI tables', () => {
  it('grCell: state and stale count while at work, - otherwise', () => {
    expect(grCell({ gracefulRestart: { enabled: true, stale: 201, state: 'peer restarting' } })).toBe('peer restarting, 201 stale');
    expect(grCell({ gracefulRestart: { enabled: true, stale: 0, state: 'our table deferred (we restarted)' } })).toBe('our table deferred (we restarted)');
    expect(grCell({ gracefulRestart: { enabled: true, stale: 0, negotiated: true } })).toBe('-');
    expect(grCell({})).toBe('-');
  });

  it('a stale route says so in FROM', () => {
    const out = formatRoutes([route({ stale: true }), route({ prefix: '10.244.11.0/26' })]);
    expect(out).toMatch(/10\.244\.10\.0\/26\s+host-b \(stale\)/);
    expect(out).toMatch(/10\.244\.11\.0\/26\s+host-b\s+10\.0\.1\.10/);
  });
});

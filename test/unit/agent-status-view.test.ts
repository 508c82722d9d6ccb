// The LAST ERROR cell of `weft status` (src/cli/status.ts): the error with its age; a TCP
// failure from before an Established session came up is not shown (JSON keeps it).
import { describe, expect, it } from 'vitest';
import { lastErrorCell } from '../../src/cli/status.js';

const NOW = Date.parse('2025-01-01T12:00:00Z');
const iso = (secondsAgo: number) => new Date(NOW - secondsAgo * 1000).toISOString();

describe('lastErrorCell', () => {
  it('shows the error and how long ago it happened', () => {
    expect(lastErrorCell({ state: 'Idle', since: iso(10), lastError: 'HoldTimer expired', lastErrorAt: iso(180) }, NOW)).toBe('HoldTimer expired (3m ago)');
    expect(lastErrorCell({ state: 'Active', since: iso(5), lastError: 'TCP connection failed: connect ECONNREFUSED 10.0.0.2:179', lastErrorAt: iso(5) }, NOW)).toBe(
      'TCP connection failed: connect ECONNREFUSED 10.0.0.2:179 (5s ago)',
    );
    expect(lastErrorCell({ state: 'Idle', since: iso(1), lastError: undefined, lastErrorAt: undefined }, NOW)).toBe('');
  });

  it('an Established peer hides a dial failure from before the session came up', () => {
    const stale = { state: 'Established', since: iso(60), lastError: 'TCP connection failed: connect ECONNREFUSED 10.0.0.2:179', lastErrorAt: iso(62) };
    expect(lastErrorCell(stale, NOW)).toBe('');
    // Not a TCP failure: still shown on an Established session (e.g. a NOTIFICATION that ended the last one).
    expect(lastErrorCell({ ...stale, lastError: 'received NOTIFICATION 6/4 Cease / Administrative Reset' }, NOW)).toBe(
      'received NOTIFICATION 6/4 Cease / Administrative Reset (62s ago)',
    );
    // Not Established: the dial failure is the news.
    expect(lastErrorCell({ ...stale, state: 'Connect' }, NOW)).toMatch(/^TCP connection failed: .* \(62s ago\)$/);
  });
});

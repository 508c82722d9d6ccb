/**
 * What the metrics read of one peer: its `weft status` row plus the prefix counts per address
 * family, and whether its session has been attempted (readiness). Read at scrape time only.
 */
import type { PeerEntry } from '../peers/agent-peers.js';
import { familyCounts, peerStatus } from '../control/views.js';
import type { AgentView } from '../view.js';
import type { PeerStat } from './metrics-peers.js';

export function peerMetricStat(agent: AgentView, e: PeerEntry): PeerStat {
  const row = peerStatus(agent, e);
  const { id: peerId, address, kind, state, received: rcv, accepted: acc, advertised, updatesIn, updatesOut, establishedTransitions, tooLarge, bfd } = row;
  const stat: PeerStat = {
    id: peerId,
    address,
    kind,
    state,
    received: rcv,
    accepted: acc,
    advertised,
    updatesIn,
    updatesOut,
    establishedTransitions,
    tooLarge,
    ...(bfd ? { bfd } : {}),
    ...(row.gracefulRestart ? { gracefulRestart: { stale: row.gracefulRestart.stale, negotiated: row.gracefulRestart.negotiated, state: row.gracefulRestart.state } } : {}),
  };
  stat.families = familyCounts(agent, e, row);
  return stat;
}

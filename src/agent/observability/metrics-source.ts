/**
 * What the metrics read of one peer: its `weft status` row plus the prefix counts per address
 * family, and whether its session has been attempted (readiness). Read at scrape time only.
 */
import type { PeerEntry } from '../peers/agent-peers.js';
import { peerStatus } from '../control/views.js';
import type { AgentView } from '../view.js';
import type { PeerStat, PrefixFamily } from './metrics-peers.js';

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
  const id = e.spec.id;
  const inRib = e.info !== undefined;
  const accepted = inRib ? agent.rib.count(id) : { ipv4: 0, ipv6: 0 };
  const sent = inRib ? agent.ribOut.sentCounts(id) : { ipv4: 0, ipv6: 0 };
  const receivedIpv6 = e.receivedIpv6 ?? 0;
  const received = { ipv4: e.received - receivedIpv6, ipv6: receivedIpv6 };
  // As in peerStatus: routes of a family the session did not negotiate are not advertised.
  const unsent = (f: PrefixFamily) => {
    const text = `${f}-unicast`;
    if (row.families?.includes(text)) return 0;
    return row.notNegotiated?.find((x) => x.family === text)?.routes ?? 0;
  };
  stat.families = {};
  for (const f of ['ipv4', 'ipv6'] as const) {
    stat.families[f] = { received: received[f], accepted: accepted[f], advertised: Math.max(0, sent[f] - unsent(f)) };
  }
  return stat;
}

/**
 * The control replies built from the agent's state: one status row per peer, and the Loc-RIB as
 * route rows. They read the agent through AgentView only.
 */
import { formatPrefix, prefixLength, v4Address, v6Bytes, type Prefix } from '../../lib/prefix.js';
import type { InternedAttrs } from '../../rib/attrs.js';
import type { AgentView } from '../view.js';
import type { PeerEntry } from '../peers/agent-peers.js';
import { familyStatus, sessionNextHops } from '../peers/families.js';
import { underlayAddresses } from '../config/config-helpers.js';
import type { PathView, PeerStatusView, RouteView } from './protocol.js';
import { md5Diagnosis, readMd5Counters } from '../io/md5/md5.js';

const byName = new Intl.Collator('en', { numeric: true });

/**
 * The sessions in a stable order: by name, then address. Not the configuration's order, which a
 * reload changes (a re-created session went to the end of the Map and so to the bottom of the table).
 */
export function sortedEntries(agent: AgentView): PeerEntry[] {
  return [...agent.entries.values()].sort((a, b) => byName.compare(a.spec.id, b.spec.id) || byName.compare(a.spec.address, b.spec.address));
}

/** `weft status` peers, in the stable order of sortedEntries. */
export function peerStatuses(agent: AgentView): PeerStatusView[] {
  return sortedEntries(agent).map((e) => peerStatus(agent, e));
}

/** Prefixes in numeric order: IPv4 before IPv6, then by address, then shorter first. */
export function comparePrefixes(a: Prefix, b: Prefix): number {
  if (typeof a === 'number' && typeof b === 'number') return v4Address(a) - v4Address(b) || prefixLength(a) - prefixLength(b);
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  const x = v6Bytes(a);
  const y = v6Bytes(b);
  for (let i = 0; i < 16; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return prefixLength(a) - prefixLength(b);
}

/** One family's prefix counts of a session: from the peer (before / after import policy) and to it. */
export interface FamilyCounts {
  received: number;
  accepted: number;
  advertised: number;
}

/**
 * Prefix counts per family of one session (`weft neighbor`, the metrics): received before import
 * policy, accepted into the Loc-RIB, advertised to the peer. As in peerStatus, routes of a family
 * the session did not negotiate are not counted as advertised (the peer never got them).
 */
export function familyCounts(agent: AgentView, e: PeerEntry, row: PeerStatusView = peerStatus(agent, e)): Record<'ipv4' | 'ipv6', FamilyCounts> {
  const id = e.spec.id;
  const inRib = e.info !== undefined;
  const accepted = inRib ? agent.rib.count(id) : { ipv4: 0, ipv6: 0 };
  const sent = inRib ? agent.ribOut.sentCounts(id) : { ipv4: 0, ipv6: 0 };
  const received6 = e.receivedIpv6 ?? 0;
  const received = { ipv4: e.received - received6, ipv6: received6 };
  const unsent = (f: 'ipv4' | 'ipv6') => {
    const text = `${f}-unicast`;
    if (row.families?.includes(text)) return 0;
    return row.notNegotiated?.find((x) => x.family === text)?.routes ?? 0;
  };
  const one = (f: 'ipv4' | 'ipv6'): FamilyCounts => ({ received: received[f], accepted: accepted[f], advertised: Math.max(0, sent[f] - unsent(f)) });
  return { ipv4: one('ipv4'), ipv6: one('ipv6') };
}

export function peerStatus(agent: AgentView, e: PeerEntry): PeerStatusView {
  const id = e.spec.id;
  const inRib = e.info !== undefined;
  const fam = inRib ? familyStatus(e.peer.negotiated, agent.ribOut.sentCounts(id), ipv4WithoutNextHop(agent, e)) : {};
  // What the peer holds from us: the Adj-RIB-Out less the routes of families it did not negotiate.
  const unsent = (fam.notNegotiated ?? []).reduce((sum, f) => sum + (fam.families?.includes(f.family) ? 0 : f.routes), 0);
  return {
    id,
    address: e.spec.address,
    asn: e.info?.asn ?? e.spec.asn,
    kind: e.spec.kind,
    state: e.peer.state.name,
    since: e.since,
    passive: e.spec.passive,
    establishedTransitions: e.peer.counters.establishedTransitions,
    received: e.received,
    accepted: inRib ? agent.rib.count(id).total : 0,
    advertised: inRib ? agent.ribOut.sentTo(id).size - unsent : 0,
    refused: inRib ? ({ ...agent.rib.refusals(id), ...e.inputRefused } as Record<string, number>) : {},
    updatesIn: e.peer.counters.updatesIn,
    updatesOut: e.peer.counters.updatesOut,
    tooLarge: e.tooLarge,
    ...fam,
    ...lastError(e),
    ...gracefulRestart(agent, e),
    ...md5Status(e),
    ...(e.bfd ? { bfd: e.bfd.status() } : {}),
  };
}

/** Our IPv4 blocks an Established session cannot get for want of an IPv4 next hop (families.ts). */
function ipv4WithoutNextHop(agent: AgentView, e: PeerEntry): number {
  const n = e.peer.negotiated;
  if (!n || sessionNextHops(e.peer.localAddress, underlayAddresses(agent.config), n).nextHopSelf.ipv4 !== undefined) return 0;
  return agent.localBlocks().filter((b) => typeof b === 'number').length;
}

/** `md5: true` for a session with a password and, while it is not up, what can be known of why. */
function md5Status(e: PeerEntry): Pick<PeerStatusView, 'md5' | 'md5Diagnosis'> {
  if (e.spec.password === undefined) return {};
  const established = e.peer.established;
  const diagnosis = established ? undefined : md5Diagnosis({ established, passive: e.spec.passive, dialTimeouts: e.peer.counters.dialTimeouts, counters: readMd5Counters() });
  return diagnosis === undefined ? { md5: true } : { md5: true, md5Diagnosis: diagnosis };
}

function gracefulRestart(agent: AgentView, e: PeerEntry): Pick<PeerStatusView, 'gracefulRestart'> {
  const v = agent.gracefulRestartView?.(e);
  return v ? { gracefulRestart: v } : {};
}

/** The agent's own last error (max-prefix, a session that went down), else the session's. */
function lastError(e: PeerEntry): Pick<PeerStatusView, 'lastError' | 'lastErrorAt'> {
  if (e.lastError !== undefined) return { lastError: e.lastError, lastErrorAt: e.lastErrorAt };
  const se = e.peer.state.lastError;
  if (!se) return { lastError: undefined, lastErrorAt: undefined };
  return { lastError: se.message, lastErrorAt: new Date(e.peer.wallTime(se.at)).toISOString() };
}

const ORIGINS = ['igp', 'egp', 'incomplete'];
const communityText = (c: number) => `${Math.floor(c / 65536)}:${c % 65536}`;

/** The attributes of a path as the control replies show them. */
export function attrFields(a: InternedAttrs): Pick<PathView, 'nextHop' | 'asPath' | 'origin' | 'localPref' | 'med' | 'communities' | 'originatorId' | 'clusterList'> {
  return {
    nextHop: a.nextHop,
    asPath: a.asPath.map((s) => (s.kind === 'sequence' ? s.asns.join(' ') : `{${s.asns.join(',')}}`)).join(' '),
    origin: ORIGINS[a.origin] ?? String(a.origin),
    localPref: a.localPref,
    med: a.med,
    communities: a.communities.map(communityText),
    originatorId: a.originatorId,
    clusterList: [...a.clusterList],
  };
}

/** The Loc-RIB: each prefix with its best path and why it won, in numeric prefix order. */
export function routeViews(agent: AgentView): RouteView[] {
  const out: { p: Prefix; v: RouteView }[] = [];
  for (const { prefix, best } of agent.rib.entries()) {
    const ranked = agent.rib.paths(prefix);
    out.push({ p: prefix, v: {
      prefix: formatPrefix(prefix),
      source: best.source,
      peer: best.peer.id,
      peerAddress: best.source === 'local' ? '' : best.peer.address,
      ...attrFields(best.attrs),
      reason: best.source === 'local' && ranked.length <= 1 ? 'local block' : (ranked.find((r) => r.rank === 'best')?.reason ?? 'only path'),
      candidates: ranked.length,
      ...(best.stale ? { stale: true } : {}),
    } });
  }
  return out.sort((x, y) => comparePrefixes(x.p, y.p)).map((r) => r.v);
}

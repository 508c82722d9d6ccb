/**
 * The `paths` control op: every candidate path of the Loc-RIB with its rank and why (`weft routes
 * --all-paths`), one peer's Adj-RIB-In (`--received`: the routes it sent that the import policy
 * accepted, shown with their attributes as received) and its Adj-RIB-Out (`--advertised`: what
 * was sent to it, with the attributes export gave them). All in numeric prefix order.
 */
import { formatPrefix, type Prefix } from '../../lib/prefix.js';
import type { InternedAttrs } from '../../rib/attrs.js';
import type { AgentView } from '../view.js';
import type { PeerEntry } from '../peers/agent-peers.js';
import type { PathTable, PathView } from './protocol.js';
import { attrFields, comparePrefixes, sortedEntries } from './views.js';

/** The session a peer name or address names; an Error listing the known ones otherwise. */
export function findPeer(agent: AgentView, nameOrAddress: string): PeerEntry {
  const all = sortedEntries(agent);
  const e = all.find((x) => x.spec.id === nameOrAddress) ?? all.find((x) => x.spec.address === nameOrAddress);
  if (e) return e;
  throw new Error(`unknown peer ${JSON.stringify(nameOrAddress)} (known: ${all.map((x) => `${x.spec.id} ${x.spec.address}`).join(', ') || 'none'})`);
}

const RANK_ORDER = { best: 0, multipath: 1, lost: 2 } as const;

function candidates(agent: AgentView, only: PeerEntry | undefined): { p: Prefix; v: PathView }[] {
  const out: { p: Prefix; v: PathView }[] = [];
  for (const { prefix } of agent.rib.entries()) {
    const ranked = agent.rib.paths(prefix).filter((r) => !only || r.path.peer.id === only.spec.id);
    ranked.sort((a, b) => RANK_ORDER[a.rank] - RANK_ORDER[b.rank] || (a.path.peer.id < b.path.peer.id ? -1 : 1));
    for (const r of ranked) {
      const local = r.path.source === 'local';
      out.push({
        p: prefix,
        v: {
          prefix: formatPrefix(prefix),
          source: r.path.source,
          peer: local ? 'local' : r.path.peer.id,
          peerAddress: local ? '' : r.path.peer.address,
          ...attrFields(r.path.attrs),
          rank: r.rank,
          reason: local && ranked.length === 1 ? 'local block' : r.reason,
          ...(r.path.stale ? { stale: true } : {}),
        },
      });
    }
  }
  return out;
}

/** A row of one peer's Adj-RIB-In or Adj-RIB-Out: the prefix, the peer, the attributes given. */
function peerRow(e: PeerEntry, prefix: Prefix, attrs: InternedAttrs, extra: Partial<PathView> = {}): { p: Prefix; v: PathView } {
  return { p: prefix, v: { prefix: formatPrefix(prefix), source: 'peer', peer: e.spec.id, peerAddress: e.spec.address, ...attrFields(attrs), ...extra } };
}

function received(agent: AgentView, e: PeerEntry): { p: Prefix; v: PathView }[] {
  if (!e.info) return [];
  const out: { p: Prefix; v: PathView }[] = [];
  for (const { prefix } of agent.rib.entries()) {
    const path = agent.rib.paths(prefix).find((r) => r.path.peer === e.info)?.path;
    if (!path) continue;
    // As the peer sent them: the import policy's result is what `--all-paths` shows.
    out.push(peerRow(e, prefix, path.input, { ...(path.input !== path.attrs ? { policyChanged: true } : {}), ...(path.stale ? { stale: true } : {}) }));
  }
  return out;
}

function advertised(agent: AgentView, e: PeerEntry): { p: Prefix; v: PathView }[] {
  if (!e.info) return [];
  return [...agent.ribOut.sentTo(e.info.id)].map(([prefix, attrs]) => peerRow(e, prefix, attrs));
}

export function pathViews(agent: AgentView, table: PathTable, peer: string | undefined): PathView[] {
  const e = peer === undefined ? undefined : findPeer(agent, peer);
  let rows: { p: Prefix; v: PathView }[];
  if (table === 'candidates') rows = candidates(agent, e);
  else if (!e) throw new Error(`"${table}" needs a peer`);
  else rows = table === 'received' ? received(agent, e) : advertised(agent, e);
  // Stable: Array.prototype.sort keeps the rank order within a prefix.
  return rows.sort((x, y) => comparePrefixes(x.p, y.p)).map((r) => r.v);
}

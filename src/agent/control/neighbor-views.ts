/**
 * `weft neighbor X`: one peer in detail, built from the session (negotiation, timers, message
 * counters, the last NOTIFICATION each way) and the RIBs (prefixes per family). Like `birdc show
 * protocols all X` and `gobgp neighbor X`, but also with the prefixes that are best per family
 * and the NOTIFICATIONs in both directions with their RFC 9003 text.
 */
import { toHex } from '../../lib/hex.js';
import { describeNotification, parseShutdownMessage, carriesShutdownMessage } from '../../wire/notification.js';
import type { Capability } from '../../wire/types.js';
import type { Negotiated } from '../../session/index.js';
import type { AgentView } from '../view.js';
import type { PeerEntry } from '../peers/agent-peers.js';
import { familyText } from '../peers/families.js';
import type { NotificationRecord } from '../peers/message-counters.js';
import type { NegotiatedView, NeighborView, NotificationView } from './protocol.js';
import { familyCounts, peerStatus, sortedEntries } from './views.js';

/** Capability codes weft does not decode, by name (IANA "Capability Codes" registry). */
const CAPABILITY_NAMES: Record<number, string> = {
  7: 'BGPsec (RFC 8205)',
  8: 'multiple labels (RFC 8277)',
  9: 'BGP role (RFC 9234)',
  71: 'long-lived graceful restart (RFC 9494)',
  72: 'routing policy distribution',
  74: 'software version',
  76: 'paths limit',
};

const afText = (afi: number) => (afi === 1 ? 'IPv4' : afi === 2 ? 'IPv6' : `AFI ${afi}`);
const ADD_PATH = ['', 'receive', 'send', 'send/receive'];

/** A capability as one line of text (RFC 5492 and the registry of each code). */
export function capabilityText(c: Capability): string {
  switch (c.type) {
    case 'multiprotocol':
      return `multiprotocol ${familyText(c.afi, c.safi)}`;
    case 'route-refresh':
      return 'route-refresh';
    case 'route-refresh-old':
      return 'route-refresh (pre-standard code 128)';
    case 'enhanced-route-refresh':
      return 'enhanced-route-refresh';
    case 'four-octet-as':
      return `4-octet AS ${c.asn}`;
    case 'graceful-restart': {
      // RFC 4724 3 (R = 0x8) and RFC 8538 (N = 0x4); F per family (0x80).
      const flags = [c.flags & 0x8 ? 'R' : '', c.flags & 0x4 ? 'N' : ''].filter(Boolean).join(' ');
      const fams = c.families.map((f) => `${familyText(f.afi, f.safi)}${f.flags & 0x80 ? ' (F)' : ''}`).join(', ');
      return `graceful-restart time ${c.time}s${flags ? ` flags ${flags}` : ''}${fams ? `, ${fams}` : ''}`;
    }
    case 'extended-next-hop':
      return `extended-next-hop ${c.entries.map((e) => `${familyText(e.afi, e.safi)} over ${afText(e.nextHopAfi)}`).join(', ')}`;
    case 'extended-message':
      return 'extended-message';
    case 'add-path':
      return `add-path ${c.families.map((f) => `${familyText(f.afi, f.safi)} ${ADD_PATH[f.sendReceive] ?? f.sendReceive}`).join(', ')}`;
    case 'fqdn':
      return `hostname ${c.hostname}${c.domain ? `.${c.domain}` : ''}`;
    case 'unknown':
      return `${CAPABILITY_NAMES[c.code] ?? 'unknown'} (code ${c.code}${c.data.length ? `, data ${toHex(c.data)}` : ''})`;
  }
}

export function negotiatedView(n: Negotiated): NegotiatedView {
  const g = n.gracefulRestart.peer;
  return {
    families: n.families.map((f) => familyText(f.afi, f.safi)),
    fourOctetAs: n.fourOctetAs,
    routeRefresh: n.routeRefresh,
    enhancedRouteRefresh: n.enhancedRouteRefresh,
    extendedMessage: n.extendedMessage,
    gracefulRestart: {
      local: n.gracefulRestart.local,
      ...(g
        ? {
            peer: {
              restartTime: g.restartTime,
              restarting: g.restarting,
              notification: g.notification,
              forwardingPreserved: g.families.filter((f) => f.forwardingPreserved).map((f) => familyText(f.afi, f.safi)),
            },
          }
        : {}),
    },
    extendedNextHop: [
      ...n.extendedNextHop.send.map((e) => `${familyText(e.afi, e.safi)} over ${afText(e.nextHopAfi)} (send)`),
      ...n.extendedNextHop.receive.map((e) => `${familyText(e.afi, e.safi)} over ${afText(e.nextHopAfi)} (receive)`),
    ],
    addPath: n.addPath.filter((a) => a.send || a.receive).map((a) => `${familyText(a.afi, a.safi)} ${a.send && a.receive ? 'send/receive' : a.send ? 'send' : 'receive'}`),
    ...(n.peerHostname ? { peerHostname: `${n.peerHostname.hostname}${n.peerHostname.domain ? `.${n.peerHostname.domain}` : ''}` } : {}),
  };
}

export function notificationView(r: NotificationRecord | undefined): NotificationView | undefined {
  if (!r) return undefined;
  const text = r.shutdownMessage ?? (carriesShutdownMessage(r.code, r.subcode) ? parseShutdownMessage(r.data) : undefined);
  return {
    code: r.code,
    subcode: r.subcode,
    name: describeNotification(r.code, r.subcode),
    data: toHex(r.data),
    ...(text !== undefined ? { shutdownMessage: text } : {}),
    at: new Date(r.atMs).toISOString(),
  };
}

/** Best paths per peer and family (one pass over the Loc-RIB for all peers). */
function bestCounts(agent: AgentView): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const { prefix, best } of agent.rib.entries()) {
    if (best.source === 'local') continue;
    let c = out.get(best.peer.id);
    if (!c) out.set(best.peer.id, (c = [0, 0]));
    c[typeof prefix === 'number' ? 0 : 1]++;
  }
  return out;
}

export function neighborView(agent: AgentView, e: PeerEntry, best: Map<string, [number, number]>): NeighborView {
  const st = e.peer.state;
  const n = e.peer.negotiated;
  const id = e.spec.id;
  const tcp = e.peer.tcp;
  const b = best.get(id) ?? [0, 0];
  const m = e.peer.messages;
  const hold = st.config.holdTime;
  const row = peerStatus(agent, e);
  const counts = familyCounts(agent, e, row);
  return {
    ...row,
    localAs: st.config.localAs,
    routerId: st.config.bgpId,
    ...(st.peerOpen ? { peerRouterId: st.peerOpen.bgpId } : n ? { peerRouterId: n.peerBgpId } : {}),
    port: e.spec.port,
    ...(tcp
      ? { connection: { direction: tcp.direction, localAddress: tcp.localAddress, localPort: tcp.localPort, remoteAddress: tcp.remoteAddress, remotePort: tcp.remotePort } }
      : {}),
    timers: {
      holdTime: hold,
      // RFC 4271 10: KeepaliveTime is one third of the HoldTime unless configured.
      keepaliveTime: st.config.keepaliveTime ?? Math.floor(hold / 3),
      connectRetryTime: st.config.connectRetryTime,
      ...(n ? { negotiatedHoldTime: n.holdTime, negotiatedKeepaliveTime: n.keepaliveMs / 1000 } : {}),
    },
    capabilities: {
      sent: st.config.capabilities.map(capabilityText),
      ...(n ? { received: n.peerCapabilities.map(capabilityText), negotiated: negotiatedView(n) } : st.peerOpen ? { received: openCapabilities(st.peerOpen.params).map(capabilityText) } : {}),
    },
    messages: { in: { ...m.in }, out: { ...m.out }, bytesIn: e.peer.counters.bytesIn, bytesOut: e.peer.counters.bytesOut, queuedBytes: e.peer.backlog },
    prefixes: {
      'ipv4-unicast': { ...counts.ipv4, best: b[0] },
      'ipv6-unicast': { ...counts.ipv6, best: b[1] },
    },
    ...(m.lastNotificationSent ? { lastNotificationSent: notificationView(m.lastNotificationSent) } : {}),
    ...(m.lastNotificationReceived ? { lastNotificationReceived: notificationView(m.lastNotificationReceived) } : {}),
    flaps: e.peer.counters.establishedTransitions - (e.peer.established ? 1 : 0),
  };
}

function openCapabilities(params: readonly { type: string; capabilities?: Capability[] }[]): Capability[] {
  return params.flatMap((p) => (p.type === 'capabilities' && p.capabilities ? p.capabilities : []));
}

/** Every peer in detail, in the stable order of `weft status` (name, then address). */
export function neighborViews(agent: AgentView): NeighborView[] {
  const best = bestCounts(agent);
  return sortedEntries(agent).map((e) => neighborView(agent, e, best));
}

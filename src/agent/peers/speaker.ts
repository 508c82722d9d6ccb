/**
 * A BGP speaker with static routes: the engine of `weft peer`. It runs one Peer per configured
 * neighbour and a listener, announces the configured routes to every Established peer (then
 * End-of-RIB), answers ROUTE-REFRESH by sending them again (with BoRR/EoRR under RFC 7313), and
 * keeps what each peer announced (an Adj-RIB-In of JSON views) for logs and the state file.
 */
import { writeFileSync, renameSync } from 'node:fs';
import type { Logger } from 'pino';
import { isIpv4 } from '../../lib/address.js';
import { formatPrefix, type Prefix } from '../../lib/prefix.js';
import { localCapabilities, IPV4_UNICAST, IPV6_UNICAST } from '../../session/index.js';
import type { AfiSafi } from '../../wire/types.js';
import { attr } from '../../wire/attr-build.js';
import { isEndOfRib } from '../../wire/eor.js';
import { Afi, Origin, Safi } from '../../wire/iana.js';
import { messageToJson } from '../../wire/message.js';
import { packRoutes } from '../../wire/update-pack.js';
import type { PathAttribute, UpdateMessage } from '../../wire/types.js';
import { initialAdvertisement, refreshAnswer } from './advertise.js';
import { Listener } from './listener.js';
import { logEvent } from '../observability/log-events.js';
import { peerLogger } from '../observability/logger.js';
import { Peer } from './peer.js';
import { md5Diagnosis, readMd5Counters } from '../io/md5/md5.js';
import type { AnnouncedRoute, SpeakerConfig, SpeakerPeerConfig } from '../config/speaker-config.js';

export interface ReceivedRoute {
  prefix: string;
  attributes: unknown;
}

export interface SpeakerStatus {
  routerId: string;
  asn: number;
  listenPort: number | undefined;
  refusedConnections: number;
  peers: {
    name: string;
    address: string;
    state: string;
    since: string | undefined;
    lastError: string | undefined;
    /** Present when the session has a TCP MD5 password (never shown itself). */
    md5?: true;
    md5Diagnosis?: string;
    counters: Peer['counters'];
    routesSent: number;
    routeRefreshesAnswered: number;
    endOfRib: string[];
    received: ReceivedRoute[];
  }[];
}

interface PeerEntry {
  peer: Peer;
  config: SpeakerPeerConfig;
  received: Map<Prefix, unknown>;
  endOfRib: Set<string>;
  routesSent: number;
  refreshes: number;
  sinceWall: string | undefined;
}

function familyOf(name: 'ipv4-unicast' | 'ipv6-unicast'): AfiSafi {
  return name === 'ipv4-unicast' ? IPV4_UNICAST : IPV6_UNICAST;
}

export class Speaker {
  private readonly peers = new Map<string, PeerEntry>();
  private listener: Listener | undefined;
  listenPort: number | undefined;

  constructor(
    readonly config: SpeakerConfig,
    private readonly log: Logger,
    private readonly stateFile?: string,
  ) {
    for (const p of config.peers) {
      const families = p.families.map(familyOf);
      const name = p.name ?? p.address;
      const peer = new Peer(
        {
          name,
          address: p.address,
          port: p.port,
          localAddress: p.localAddress,
          password: p.password,
          session: {
            localAs: config.asn,
            bgpId: config.routerId,
            peerAs: p.asn,
            holdTime: p.holdTime,
            keepaliveTime: p.keepalive,
            connectRetryTime: p.connectRetry,
            // One configured peer: dialled every ConnectRetry, no back-off (agent-peers.ts).
            connectRetryMaxTime: p.connectRetry,
            passive: p.passive,
            capabilities: localCapabilities({ localAs: config.asn, families, enhancedRouteRefresh: true }),
          },
        },
        peerLogger(log, name),
      );
      const entry: PeerEntry = { peer, config: p, received: new Map(), endOfRib: new Set(), routesSent: 0, refreshes: 0, sinceWall: undefined };
      this.peers.set(p.address, entry);
      peer.events.subscribe((ev) => {
        switch (ev.type) {
          case 'state':
            entry.sinceWall = new Date().toISOString();
            break;
          case 'established':
            this.sendAll(entry);
            break;
          case 'down':
            entry.received.clear();
            entry.endOfRib.clear();
            break;
          case 'update':
            this.receive(entry, ev.update);
            break;
          case 'route-refresh':
            this.refresh(entry, ev.refresh.afi, ev.refresh.safi, ev.refresh.subtype);
            break;
        }
        this.writeState();
      });
    }
  }

  async start(): Promise<void> {
    const l = this.config.listen;
    if (l !== false) {
      this.listener = new Listener((addr) => {
        const entry = this.peers.get(addr);
        // A refused connection changes refusedConnections: rewrite the state file once the listener has counted it.
        if (!entry) queueMicrotask(() => this.writeState());
        return entry?.peer;
      }, this.log, this.md5Listener());
      this.listenPort = await this.listener.listen(l.address, l.port);
    }
    for (const e of this.peers.values()) e.peer.start();
    this.writeState();
  }

  /** With passwords configured: the listening socket carries a key per peer address (set before it listens). */
  private md5Listener(): { passwords: () => ReadonlyMap<string, string> } | Record<string, never> {
    const keys = new Map(this.config.peers.flatMap((p) => (p.password !== undefined ? [[p.address, p.password] as const] : [])));
    return keys.size > 0 ? { passwords: () => keys } : {};
  }

  /** Cease/Administrative Shutdown to every peer (RFC 9003 text when given), then stop. */
  async shutdown(message = 'weft is shutting down'): Promise<void> {
    logEvent(this.log, 'speaker.shutdown', { message });
    for (const e of this.peers.values()) e.peer.close(message);
    await this.listener?.close();
    this.writeState();
  }

  peer(address: string): Peer | undefined {
    return this.peers.get(address)?.peer;
  }

  /** The attributes and prefixes for one peer, per family, from the configured routes. */
  private updatesFor(entry: PeerEntry, family: AfiSafi | undefined): Uint8Array[] {
    const peer = entry.peer;
    const n = peer.negotiated;
    const opts = peer.encodeOptions;
    if (!n || !opts) return [];
    const out: Uint8Array[] = [];
    const groups = new Map<string, { route: AnnouncedRoute; prefixes: Prefix[] }>();
    for (const r of this.config.announce) {
      const v4 = typeof r.prefix === 'number';
      const f = v4 ? IPV4_UNICAST : IPV6_UNICAST;
      if (family && (f.afi !== family.afi || f.safi !== family.safi)) continue;
      if (!n.families.some((x) => x.afi === f.afi && x.safi === f.safi)) continue;
      const key = JSON.stringify([v4, r.nextHop, r.communities, r.largeCommunities, r.med, r.localPref]);
      const g = groups.get(key) ?? { route: r, prefixes: [] };
      g.prefixes.push(r.prefix);
      groups.set(key, g);
    }
    const local = entryLocalAddress(entry);
    for (const { route, prefixes } of groups.values()) {
      const v4 = typeof prefixes[0] === 'number';
      const attrs: PathAttribute[] = [attr.origin(Origin.IGP), attr.asPath(n.internal ? [] : [this.config.asn])];
      const nh = route.nextHop ?? local;
      if (v4) {
        if (!nh || !isIpv4(nh)) continue; // no IPv4 next hop for an IPv6-only session
        attrs.push(attr.nextHop(nh));
      }
      if (route.med !== undefined) attrs.push(attr.med(route.med));
      if (n.internal) attrs.push(attr.localPref(route.localPref ?? 100));
      if (route.communities.length) attrs.push(attr.communities(route.communities));
      if (route.largeCommunities.length) attrs.push(attr.largeCommunities(route.largeCommunities));
      const ipv6NextHop = !v4 && nh && !isIpv4(nh) ? [nh] : undefined;
      if (!v4 && !ipv6NextHop) continue;
      const packed = packRoutes({ attributes: attrs, announce: prefixes, ipv6NextHop }, opts);
      for (const m of packed.messages) out.push(m);
      let skipped = 0;
      for (const t of packed.tooLarge) {
        skipped += t.prefixes.length;
        logEvent(this.log, 'agent.route-too-large', { peer: entry.peer.config.name, prefixes: t.prefixes.map(formatPrefix), attributeOctets: t.attributeOctets, maxOctets: t.maxOctets });
      }
      entry.routesSent += prefixes.length - skipped;
    }
    return out;
  }

  private sendAll(entry: PeerEntry): void {
    const n = entry.peer.negotiated;
    if (!n) return;
    const msgs = initialAdvertisement(n, (f) => this.updatesFor(entry, f));
    entry.peer.send(msgs);
    logEvent(this.log, 'speaker.sent', { peer: entry.peer.config.name, messages: msgs.length, routesSent: entry.routesSent });
  }

  /** A ROUTE-REFRESH from the peer (advertise.ts refreshAnswer: BoRR/EoRR are not requests). */
  private refresh(entry: PeerEntry, afi: number, safi: number, subtype: number): void {
    const n = entry.peer.negotiated;
    const msgs = n && refreshAnswer(n, afi, safi, subtype, (f) => this.updatesFor(entry, f));
    if (!msgs) return;
    entry.refreshes++;
    entry.peer.send(msgs);
    logEvent(this.log, 'speaker.sent', { peer: entry.peer.config.name, messages: msgs.length, refresh: true, afi, safi });
  }

  private receive(entry: PeerEntry, update: UpdateMessage): void {
    const eor = isEndOfRib(update);
    if (eor) {
      entry.endOfRib.add(`${eor.afi}/${eor.safi}`);
      logEvent(this.log, 'speaker.received', { peer: entry.peer.config.name, endOfRib: `${eor.afi}/${eor.safi}` });
      return;
    }
    const json = messageToJson(update) as { attributes: unknown[] };
    const withdrawAll = update.problems?.some((p) => p.severity === 'treat-as-withdraw') ?? false;
    const announced: Prefix[] = [...update.nlri];
    const withdrawn: Prefix[] = [...update.withdrawn];
    for (const a of update.attributes) {
      if (a.type === 'mp-reach' && a.reach.afi === Afi.IPV6 && a.reach.safi === Safi.UNICAST) announced.push(...a.reach.nlri);
      if (a.type === 'mp-reach' && a.reach.afi === Afi.IPV4 && a.reach.safi === Safi.UNICAST) announced.push(...a.reach.nlri);
      if (a.type === 'mp-unreach') withdrawn.push(...a.unreach.withdrawn);
    }
    const attrs = json.attributes.filter((a) => {
      const t = (a as { type: string }).type;
      return t !== 'mp-reach' && t !== 'mp-unreach';
    });
    const mpNextHop = update.attributes.find((a) => a.type === 'mp-reach');
    const view = { attributes: attrs, nextHop: mpNextHop?.type === 'mp-reach' ? mpNextHop.reach.nextHop : undefined };
    for (const p of withdrawn) entry.received.delete(p);
    for (const p of announced) {
      if (withdrawAll) entry.received.delete(p);
      else entry.received.set(p, view);
    }
    logEvent(this.log, 'speaker.received', {
      peer: entry.peer.config.name,
      announced: withdrawAll ? [] : announced.map(formatPrefix),
      withdrawn: (withdrawAll ? [...withdrawn, ...announced] : withdrawn).map(formatPrefix),
      attributes: attrs,
    });
  }

  status(): SpeakerStatus {
    return {
      routerId: this.config.routerId,
      asn: this.config.asn,
      listenPort: this.listenPort,
      refusedConnections: this.listener?.refused ?? 0,
      peers: [...this.peers.values()].map((e) => ({
        name: e.peer.config.name,
        address: e.peer.config.address,
        state: e.peer.state.name,
        since: e.sinceWall,
        lastError: e.peer.state.lastError?.message,
        ...(e.config.password !== undefined ? md5View(e) : {}),
        counters: { ...e.peer.counters },
        routesSent: e.routesSent,
        routeRefreshesAnswered: e.refreshes,
        endOfRib: [...e.endOfRib],
        received: [...e.received].map(([p, a]) => ({ prefix: formatPrefix(p), attributes: a })),
      })),
    };
  }

  /** The state file (when configured): rewritten atomically on every change, for tests and scripts. */
  writeState(): void {
    if (!this.stateFile) return;
    const tmp = `${this.stateFile}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.status(), null, 2)}\n`);
    renameSync(tmp, this.stateFile);
  }

  /** Asks a peer for its routes again (RFC 2918). */
  requestRefresh(address: string): boolean {
    const e = this.peers.get(address);
    return e ? e.peer.requestRefresh(Afi.IPV4, Safi.UNICAST) : false;
  }
}

function md5View(e: PeerEntry): { md5: true; md5Diagnosis?: string } {
  const p = e.peer;
  const d = md5Diagnosis({ established: p.established, passive: e.config.passive, dialTimeouts: p.counters.dialTimeouts, counters: p.established ? undefined : readMd5Counters() });
  return d === undefined ? { md5: true } : { md5: true, md5Diagnosis: d };
}

function entryLocalAddress(entry: PeerEntry): string | undefined {
  return entry.config.localAddress ?? entry.peer.localAddress;
}

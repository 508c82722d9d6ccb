/**
 * The far end of an in-memory connection (manual-io.ts): a BGP speaker the test drives by hand.
 * It frames and decodes what weft writes (kept in order, as compact summaries for golden files)
 * and writes whatever the test asks for: OPEN, KEEPALIVE, UPDATE, NOTIFICATION or raw bytes.
 */
import { GracefulRestartFlag, localCapabilities } from '../../src/session/index.js';
import { endOfRibBytes } from '../../src/wire/eor.js';
import { fromHex } from '../../src/lib/hex.js';
import { formatPrefix, parsePrefix } from '../../src/lib/prefix.js';
import { attr } from '../../src/wire/attr-build.js';
import { Framer } from '../../src/wire/framer.js';
import { Origin } from '../../src/wire/iana.js';
import { encodeKeepalive } from '../../src/wire/keepalive.js';
import { decodeMessage } from '../../src/wire/message.js';
import { encodeNotification } from '../../src/wire/notification.js';
import { buildOpen, capabilitiesOf, encodeOpen } from '../../src/wire/open.js';
import { encodeRouteRefresh } from '../../src/wire/route-refresh.js';
import { DEFAULT_WIRE_OPTIONS, type BgpMessage, type PathAttribute, type WireOptions } from '../../src/wire/types.js';
import { packUpdates } from '../../src/wire/update-pack.js';
import type { PipeEnd } from './manual-io.js';

export interface ScriptedPeerConfig {
  asn: number;
  id: string;
  holdTime?: number;
  /** Capabilities beyond the defaults: false leaves route refresh out. */
  routeRefresh?: boolean;
  fourOctetAs?: boolean;
  /** RFC 4724 capability: restart time, the R and N flags, the F bit on IPv4 unicast. */
  gracefulRestart?: { restartTime?: number; r?: boolean; n?: boolean; f?: boolean };
  /** Multiprotocol capabilities (RFC 4760): default IPv4 unicast only. */
  families?: ('ipv4' | 'ipv6')[];
  /** RFC 8950 capability: the peer takes IPv6 next hops for IPv4 unicast. */
  extendedNextHop?: boolean;
}

/** What a test may ask the scripted peer to send (also the `send:` of a conformance step). */
export interface SendSpec {
  open?: Partial<ScriptedPeerConfig>;
  keepalive?: boolean;
  update?: UpdateSpec;
  notification?: [number, number] | [number, number, string];
  routeRefresh?: [number, number, number?];
  /** End-of-RIB (RFC 4724 2) for [afi, safi]. */
  endOfRib?: [number, number];
  hex?: string;
}

export interface UpdateSpec {
  announce?: string[];
  withdraw?: string[];
  nextHop?: string;
  asPath?: number[];
  localPref?: number;
  communities?: number[];
  /** An optional transitive attribute weft does not know, of this many octets (to reach size limits). */
  unknownOctets?: number;
}

export class ScriptedPeer {
  readonly received: BgpMessage[] = [];
  readonly errors: string[] = [];
  closed = false;
  private readonly framer = new Framer();
  private opts: WireOptions = DEFAULT_WIRE_OPTIONS;

  constructor(
    readonly socket: PipeEnd,
    readonly config: ScriptedPeerConfig,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => void (this.closed = true));
    socket.on('error', () => undefined);
  }

  private onData(chunk: Buffer): void {
    const { messages, error } = this.framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    for (const m of messages) {
      try {
        const msg = decodeMessage(m, this.opts);
        if (msg.type === 'open') this.opts = { ...this.opts, fourOctetAs: this.config.fourOctetAs !== false };
        this.received.push(msg);
      } catch (e) {
        this.errors.push((e as Error).message);
      }
    }
    if (error) this.errors.push(error.message);
  }

  /** Messages received since the last call. */
  take(): BgpMessage[] {
    return this.received.splice(0);
  }

  send(spec: SendSpec): void {
    if (this.closed) throw new Error(`scripted peer ${this.config.id}: cannot send, the connection is closed`);
    for (const bytes of this.encode(spec)) this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }

  private encode(spec: SendSpec): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (spec.open) {
      const c = { ...this.config, ...spec.open };
      const g = c.gracefulRestart;
      const gracefulRestart = g && {
        restartTime: g.restartTime ?? 120,
        flags: (g.r ? GracefulRestartFlag.RESTART_STATE : 0) | (g.n ? GracefulRestartFlag.NOTIFICATION : 0),
        families: [{ afi: 1, safi: 1, flags: g.f === false ? 0 : GracefulRestartFlag.FORWARDING_STATE }],
      };
      const families = (c.families ?? ['ipv4']).map((f) => (f === 'ipv4' ? { afi: 1, safi: 1 } : { afi: 2, safi: 1 }));
      const extendedNextHop = c.extendedNextHop ? [{ afi: 1, safi: 1, nextHopAfi: 2 }] : undefined;
      const caps = localCapabilities({ localAs: c.asn, families, routeRefresh: c.routeRefresh ?? true, ...(gracefulRestart ? { gracefulRestart } : {}), ...(extendedNextHop ? { extendedNextHop } : {}) });
      out.push(encodeOpen(buildOpen({ asn: c.asn, holdTime: c.holdTime ?? 90, bgpId: c.id, capabilities: caps.filter((x) => c.fourOctetAs !== false || x.type !== 'four-octet-as') })));
    }
    if (spec.keepalive) out.push(encodeKeepalive());
    if (spec.notification) {
      const [code, subcode, text] = spec.notification;
      const data = text === undefined ? new Uint8Array(0) : Uint8Array.from([Buffer.byteLength(text), ...Buffer.from(text)]);
      out.push(encodeNotification({ type: 'notification', code, subcode, data }));
    }
    if (spec.routeRefresh) {
      const [afi, safi, subtype] = spec.routeRefresh;
      out.push(encodeRouteRefresh({ type: 'route-refresh', afi, safi, subtype: subtype ?? 0 }));
    }
    if (spec.update) out.push(...this.update(spec.update));
    if (spec.endOfRib) out.push(endOfRibBytes(spec.endOfRib[0], spec.endOfRib[1], { ...DEFAULT_WIRE_OPTIONS, fourOctetAs: this.config.fourOctetAs !== false }));
    if (spec.hex) out.push(fromHex(spec.hex));
    return out;
  }

  private update(u: UpdateSpec): Uint8Array[] {
    const wire = { ...DEFAULT_WIRE_OPTIONS, fourOctetAs: this.config.fourOctetAs !== false };
    const withdraw = (u.withdraw ?? []).map((p) => parsePrefix(p));
    const announce = (u.announce ?? []).map((p) => parsePrefix(p));
    if (announce.length === 0) return packUpdates({ withdraw }, wire);
    // An IPv6 next hop goes in MP_REACH_NLRI: the IPv6 routes' (RFC 2545), and IPv4 routes' too (RFC 8950).
    const nh = u.nextHop ?? this.config.id;
    const v6Hop = nh.includes(':');
    const attrs: PathAttribute[] = [attr.origin(Origin.IGP), attr.asPath(u.asPath ?? []), ...(v6Hop ? [] : [attr.nextHop(nh)])];
    if (u.localPref !== undefined) attrs.push(attr.localPref(u.localPref));
    if (u.communities?.length) attrs.push(attr.communities(u.communities));
    if (u.unknownOctets) attrs.push(attr.unknown(250, new Uint8Array(u.unknownOctets).fill(0xab)));
    return packUpdates({ attributes: attrs, announce, withdraw, ...(v6Hop ? { ipv6NextHop: [nh], ipv4NextHop6: [nh] } : {}) }, wire);
  }
}

/** A received message as a short, stable summary for golden files. */
export function summarise(m: BgpMessage): unknown {
  switch (m.type) {
    case 'open': {
      const caps = capabilitiesOf(m);
      // Families (RFC 4760) and RFC 8950 next hops only when they are not the IPv4-only default.
      const mp = caps.flatMap((c) => (c.type === 'multiprotocol' ? [`${c.afi}/${c.safi}`] : []));
      const enh = caps.find((c) => c.type === 'extended-next-hop');
      const extra = {
        ...(mp.join() !== '1/1' ? { families: mp } : {}),
        ...(enh?.type === 'extended-next-hop' ? { extendedNextHop: enh.entries.map((e) => `${e.afi}/${e.safi} via ${e.nextHopAfi}`) } : {}),
      };
      const gr = caps.find((c) => c.type === 'graceful-restart');
      if (gr?.type !== 'graceful-restart') return { open: { myAs: m.myAs, holdTime: m.holdTime, bgpId: m.bgpId, ...extra } };
      // RFC 4724 3: R and N flags, restart time, families with F.
      const flags = `${gr.flags & GracefulRestartFlag.RESTART_STATE ? 'R' : '-'}${gr.flags & GracefulRestartFlag.NOTIFICATION ? 'N' : '-'}`;
      const families = gr.families.map((f) => `${f.afi}/${f.safi}${f.flags & GracefulRestartFlag.FORWARDING_STATE ? ' F' : ''}`);
      return { open: { myAs: m.myAs, holdTime: m.holdTime, bgpId: m.bgpId, ...extra, gracefulRestart: { flags, time: gr.time, families } } };
    }
    case 'keepalive':
      return 'keepalive';
    case 'notification':
      return { notification: [m.code, m.subcode, ...(m.shutdownMessage !== undefined ? [m.shutdownMessage] : [])] };
    case 'route-refresh':
      return { routeRefresh: [m.afi, m.safi, m.subtype] };
    case 'update': {
      const mpReach = m.attributes.find((a) => a.type === 'mp-reach');
      const mpUnreach = m.attributes.find((a) => a.type === 'mp-unreach');
      const announce = [...m.nlri, ...(mpReach?.type === 'mp-reach' ? mpReach.reach.nlri : [])].map(formatPrefix);
      const withdraw = [...m.withdrawn, ...(mpUnreach?.type === 'mp-unreach' ? mpUnreach.unreach.withdrawn : [])].map(formatPrefix);
      if (announce.length === 0 && withdraw.length === 0 && m.attributes.length <= 1) return 'end-of-rib';
      const out: Record<string, unknown> = {};
      if (announce.length) out.announce = announce;
      if (withdraw.length) out.withdraw = withdraw;
      if (announce.length) {
        const asPath = m.attributes.find((a) => a.type === 'as-path');
        const nh = m.attributes.find((a) => a.type === 'next-hop');
        const lp = m.attributes.find((a) => a.type === 'local-pref');
        if (asPath?.type === 'as-path') out.asPath = asPath.segments.flatMap((s) => s.asns);
        if (nh?.type === 'next-hop') out.nextHop = nh.nextHop;
        if (mpReach?.type === 'mp-reach') out.mpNextHop = `${mpReach.reach.afi}/${mpReach.reach.safi} via ${mpReach.reach.nextHop.join(' ')}`;
        if (lp?.type === 'local-pref') out.localPref = lp.localPref;
        out.attributes = m.attributes.map((a) => (a.type === 'unknown' ? `unknown-${a.code}` : a.type));
      }
      return { update: out };
    }
  }
}

/**
 * The in-memory kernel's text side (memory-kernel.ts): the shapes it keeps, the refusals it
 * imitates, and iproute2's words in (route / link / neighbour line parsing) and JSON out (the
 * listings `ip -json` and `bridge -json` print), as iproute2 6.1 on Linux 6.x does.
 */
import { isLinkLocal, bytesToIpv6, ipv4ToNumber, ipv6ToBytes, numberToIpv4 } from '../lib/address.js';
import { hostPrefix, formatPrefix, isV4, parsePrefix, prefixContains, prefixLength, v4Address, v6Bytes, type Prefix } from '../lib/prefix.js';
import type { BatchError } from './ip-driver.js';
import type { KernelHop, KernelRoute } from './kernel-state.js';
import { WEFT_PROTO } from './model.js';

/** One next hop of a multipath route, as written (the kernel keeps the order). */
export interface MemHop extends KernelHop {
  onlink?: boolean;
  /** 1 when not given. */
  weight?: number;
  /** Its device went down: the kernel keeps the next hop, flagged dead (and linkdown). */
  dead?: boolean;
}

/**
 * A route as the kernel state parser reads it (kernel-state.ts), plus the nexthop object it uses;
 * a multipath route has `hops` (two or more) and no gateway or device of its own.
 */
export interface MemRoute extends Omit<KernelRoute, 'multipath' | 'hops'> {
  nhid?: number;
  hops?: MemHop[];
}

export interface MemLink {
  name: string;
  ifindex: number;
  mtu: number;
  mac?: string;
  up: boolean;
  kind?: string;
  /** `local` of either family (`ip -json` prints an IPv6 one as `local6`). */
  vxlan?: { id: number; local?: string; port: number; link?: string; learning: boolean };
  /** Addresses of both families with length ("10.0.1.11/24", "fd00:9::1/64"), in the order added. */
  addrs: string[];
  /** The IPv6 link-local address the device got when it came up (EUI-64 of its MAC then). */
  linkLocal?: string;
}

export interface MemNexthop {
  id: number;
  gateway: string;
  dev: string;
  protocol: string;
}

/** One run() of a batch stream. */
export interface MemBatch {
  tool: 'ip' | 'bridge';
  /** Which stream (in the order batch() made them). */
  stream: number;
  lines: string[];
  errors: BatchError[];
}

export const PROTO_NAMES: Record<string, string> = { '2': 'kernel', '3': 'boot', '4': 'static', '186': 'bgp', [String(WEFT_PROTO)]: 'weft' };
export const ROUTE_TYPES = new Set(['unicast', 'blackhole', 'unreachable', 'prohibit', 'throw']);

/** A line the kernel (or iproute2) refuses: it fails, the stream goes on (-force). */
export class Refused extends Error {}

/**
 * A line iproute2 cannot parse: it exits, even with -force (the lines after it in the batch are
 * not run; the driver's run() rejects, and the next batch goes to a new process).
 */
export class Unparsable extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}

/** A next hop as a route line gives it (`via [inet|inet6] G dev D onlink weight W`). */
export interface WrittenHop {
  via?: string;
  dev?: string;
  onlink: boolean;
  weight?: number;
}

/** "key value" pairs and bare flags of a line's tail. */
export function options(w: readonly string[], flags: readonly string[]): Record<string, string | undefined> {
  const o: Record<string, string | undefined> = {};
  for (let i = 0; i < w.length; i++) {
    if (flags.includes(w[i])) o[w[i]] = '';
    else {
      o[w[i]] = w[i + 1];
      i++;
    }
  }
  return o;
}

/**
 * A route line's words after the prefix: the next hop of the route itself (`via`, `dev`, `onlink`),
 * the next hops after `nexthop` (each to the next `nexthop`), the rest as "key value" pairs.
 * `via inet6 G` / `via inet G` names the gateway's family; without it, it is the route's, as
 * iproute2 has it ('inet address is expected rather than "fd00::1"').
 */
export function routeWords(w: readonly string[], v6: boolean): { o: Record<string, string | undefined>; top: WrittenHop; hops?: WrittenHop[] } {
  const o: Record<string, string | undefined> = {};
  const top: WrittenHop = { onlink: false };
  let hops: WrittenHop[] | undefined;
  let hop = top;
  for (let i = 0; i < w.length; i++) {
    const word = w[i];
    if (word === 'nexthop') {
      hop = { onlink: false };
      (hops ??= []).push(hop);
    } else if (word === 'onlink') hop.onlink = true;
    else if (word === 'dev') hop.dev = w[++i];
    else if (word === 'weight' && hop !== top) hop.weight = Number(w[++i]);
    else if (word === 'via') {
      let family: 'inet' | 'inet6' = v6 ? 'inet6' : 'inet';
      if (w[i + 1] === 'inet' || w[i + 1] === 'inet6') family = w[++i] as 'inet' | 'inet6';
      const gw = w[++i] ?? '';
      const bad = new Unparsable(`Error: ${family} address is expected rather than "${gw}".`);
      if (gw.includes(':') !== (family === 'inet6')) throw bad;
      try {
        hop.via = canon(gw);
      } catch {
        throw bad;
      }
    } else o[word] = w[++i];
  }
  return { o, top, hops };
}

export function protoName(p: string): string {
  return PROTO_NAMES[p] ?? p;
}

export function normDst(dst: string): string {
  if (dst === 'default') return '0.0.0.0/0';
  const full = dst.includes('/') ? dst : `${dst}/${dst.includes(':') ? 128 : 32}`;
  try {
    return formatPrefix(parsePrefix(full));
  } catch {
    throw new Unparsable(`Error: any valid prefix is expected rather than "${dst}".`);
  }
}

/** An address as the kernel prints it (RFC 5952 for IPv6); what is none, iproute2 cannot parse. */
export function canon(address: string): string {
  try {
    return address.includes(':') ? bytesToIpv6(ipv6ToBytes(address)) : numberToIpv4(ipv4ToNumber(address));
  } catch {
    throw new Unparsable(`Error: any valid address is expected rather than "${address}".`);
  }
}

/** An interface address with its length, host bits kept ("fd00:9::1/64"; no length: a host's). */
export function normAddr(text: string): string {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  return `${canon(address)}/${slash < 0 ? (address.includes(':') ? 128 : 32) : text.slice(slash + 1)}`;
}

export { hostPrefix, isLinkLocal };

/**
 * The link-local address the kernel gives a device coming up (addr_gen_mode eui64): fe80::/64 and
 * the modified EUI-64 of its MAC (RFC 4291 appendix A). None without a MAC, on lo or IP-in-IP.
 */
export function linkLocalOf(l: MemLink): string | undefined {
  if (l.mac === undefined || l.name === 'lo' || l.kind === 'ipip') return undefined;
  const m = l.mac.split(':').map((x) => parseInt(x, 16));
  const b = new Uint8Array(16);
  b.set([0xfe, 0x80]);
  b.set([m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]], 8);
  return bytesToIpv6(b);
}

/** The metric a route gets when none is given: 0 for IPv4, 1024 for IPv6 (IP6_RT_PRIO_USER). */
export function defaultMetric(dst: string): number {
  return dst.includes(':') ? 1024 : 0;
}

export function routeKey(dst: string, metric: number): string {
  return `${dst}|${metric}`;
}

/**
 * Where `ip route show` lists a route, as a string that sorts so. IPv4 (the FIB trie, by key): by
 * network address, the longer prefix first. IPv6 (the fib6 tree, walked children first): by the
 * last address of the prefix, the longer prefix first. Then by metric.
 */
export function listingKey(r: MemRoute): string {
  const p = parsePrefix(r.dst);
  const len = prefixLength(p);
  const metric = r.metric.toString(16).padStart(8, '0');
  if (isV4(p)) return `${v4Address(p).toString(16).padStart(8, '0')}${(63 - len).toString(16).padStart(2, '0')}${metric}`;
  const b = v6Bytes(p);
  for (let i = 0; i < 16; i++) if (8 * (i + 1) > len) b[i] |= 0xff >> Math.max(0, len - 8 * i);
  return `${Buffer.from(b).toString('hex')}${(255 - len).toString(16).padStart(2, '0')}${metric}`;
}

/** A gateway as `ip -json` prints it: "gateway" in the route's family, else "via" with the family. */
export function gatewayJson(gateway: string, v6: boolean): Record<string, unknown> {
  const gw6 = gateway.includes(':');
  return gw6 === v6 ? { gateway } : { via: { family: gw6 ? 'inet6' : 'inet', host: gateway } };
}

export function hopJson(h: MemHop, v6: boolean): Record<string, unknown> {
  const flags = [...(h.dead ? ['dead'] : []), ...(h.onlink ? ['onlink'] : []), ...(h.dead ? ['linkdown'] : [])];
  return { ...(h.gateway !== undefined ? gatewayJson(h.gateway, v6) : {}), ...(h.dev !== undefined ? { dev: h.dev } : {}), weight: h.weight ?? 1, flags };
}

/** A route of `ip -json route show` (`ip -6 -json ...` for IPv6: metric and pref always). */
export function routeJson(r: MemRoute): Record<string, unknown> {
  const v6 = r.dst.includes(':');
  const j: Record<string, unknown> = {};
  if (r.type !== 'unicast') j.type = r.type;
  j.dst = r.dst === '0.0.0.0/0' || r.dst === '::/0' ? 'default' : r.dst.endsWith('/32') || r.dst.endsWith('/128') ? r.dst.slice(0, r.dst.indexOf('/')) : r.dst;
  if (r.nhid !== undefined) j.nhid = r.nhid;
  if (r.gateway !== undefined) Object.assign(j, gatewayJson(r.gateway, v6));
  if (r.dev !== undefined) j.dev = r.dev;
  if (r.protocol !== 'boot') j.protocol = r.protocol;
  // An IPv4 route straight out of a device is scope link (iproute2 picks it when there is no gateway).
  if (!v6 && r.type === 'unicast' && r.gateway === undefined && r.hops === undefined && r.nhid === undefined) j.scope = 'link';
  if (r.metric !== 0 || v6) j.metric = r.metric;
  j.flags = r.onlink ? ['onlink'] : [];
  if (v6) j.pref = 'medium';
  if (r.hops) j.nexthops = r.hops.map((h) => hopJson(h, v6));
  return j;
}

export function linkFlags(l: MemLink): string[] {
  const kind = l.name === 'lo' ? ['LOOPBACK'] : l.kind === 'ipip' ? ['NOARP'] : ['BROADCAST', 'MULTICAST'];
  return l.up ? [...kind, 'UP', 'LOWER_UP'] : kind;
}

/** The scope the kernel gives an address: host for loopback ones, link for fe80::/10, else global. */
export function scopeOf(address: string): string {
  if (address === '::1' || (!address.includes(':') && address.startsWith('127.'))) return 'host';
  return isLinkLocal(address) ? 'link' : 'global';
}

/**
 * `addr_info` as the kernel lists it: IPv4 in the order added (with the device as label), then
 * IPv6 by scope (global before link-local), the newest first.
 */
export function addrInfo(l: MemLink): Record<string, unknown>[] {
  const entry = (a: string): Record<string, unknown> => {
    const local = a.slice(0, a.indexOf('/'));
    const v6 = a.includes(':');
    return { family: v6 ? 'inet6' : 'inet', local, prefixlen: Number(a.slice(a.indexOf('/') + 1)), scope: scopeOf(local), ...(v6 ? {} : { label: l.name }) };
  };
  const v4 = l.addrs.filter((a) => !a.includes(':'));
  const v6 = [...l.addrs.filter((a) => a.includes(':')), ...(l.linkLocal ? [`${l.linkLocal}/64`] : [])].reverse();
  const rank = (a: string) => (scopeOf(a.slice(0, a.indexOf('/'))) === 'link' ? 1 : 0);
  return [...v4.map(entry), ...v6.sort((a, b) => rank(a) - rank(b)).map(entry)];
}

export function linkJson(l: MemLink): Record<string, unknown> {
  const j: Record<string, unknown> = { ifindex: l.ifindex, ifname: l.name, flags: linkFlags(l), mtu: l.mtu };
  if (l.mac !== undefined) j.address = l.mac;
  if (l.kind !== undefined) {
    const info: Record<string, unknown> = { info_kind: l.kind };
    if (l.vxlan) {
      const v = l.vxlan;
      info.info_data = {
        id: v.id,
        ...(v.local === undefined ? {} : v.local.includes(':') ? { local6: v.local } : { local: v.local }),
        ...(v.link === undefined ? {} : { link: v.link }),
        port: v.port,
        learning: v.learning,
      };
    }
    j.linkinfo = info;
  }
  j.addr_info = addrInfo(l);
  return j;
}

/** One route as `ip -o route` prints it (a multipath route's next hops on its line). */
export function showRoute(r: MemRoute): string {
  const v6 = r.dst.includes(':');
  const via = (gw: string) => ` via ${gw.includes(':') !== v6 ? (gw.includes(':') ? 'inet6 ' : 'inet ') : ''}${gw}`;
  const parts = [r.type === 'unicast' ? '' : `${r.type} `, r.dst];
  if (r.nhid !== undefined) parts.push(` nhid ${r.nhid}`);
  if (r.gateway !== undefined) parts.push(via(r.gateway));
  if (r.dev !== undefined) parts.push(` dev ${r.dev}`);
  if (r.protocol !== 'boot') parts.push(` proto ${r.protocol}`);
  if (r.metric !== defaultMetric(r.dst)) parts.push(` metric ${r.metric}`);
  if (r.onlink) parts.push(' onlink');
  for (const h of r.hops ?? []) {
    parts.push(' nexthop', h.gateway !== undefined ? via(h.gateway) : '', h.dev !== undefined ? ` dev ${h.dev}` : '');
    if ((h.weight ?? 1) !== 1) parts.push(` weight ${h.weight}`);
    if (h.dead) parts.push(' dead');
    if (h.onlink) parts.push(' onlink');
  }
  return parts.join('');
}

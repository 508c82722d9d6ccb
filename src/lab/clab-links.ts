/**
 * containerlab's links, both syntaxes, turned into the one shape the topology schema takes:
 *   brief: { endpoints: ["r1:eth1", "r2:eth1"], mtu, labels, vars: { ipv4: [a, b], ipv6: [a, b] } }
 *   long:  { type: veth, endpoints: [{ node, interface, mac, vars: { ipv4, ipv6 } }, {...}], mtu, vars }
 * Addresses are where containerlab reads them (vars.ipv4 / vars.ipv6 of the link, one per end, or
 * of each endpoint); `ipv4` / `ipv6` directly on the link or endpoint are taken as well.
 *          { type: host | mgmt-net, endpoint: { node, interface, mac }, host-interface: IF }
 * -> { endpoints: ["r1:eth1", "r2:eth1"], mtu?, mac?: [a|null, b|null], ipv4?: [...], ipv6?: [...], vars?, labels? }
 *
 * `host:IF` and `mgmt-net:IF` ends: weft lab never touches the machine's real network (a veth into
 * the root namespace would, and a lab that dies half-way would leave it there). So the lab host is
 * a namespace of its own: `host:IF` ends land in the lab's node of kind host (one at most; a node
 * named `host` is added when there is none), and `mgmt-net:IF` ends become ports of a bridge node
 * `mgmt-net` (the lab's management network, made like any kind: bridge node). Both are deleted by
 * `weft lab down` with the rest of the lab. macvlan, vxlan and dummy links are refused.
 */
import { isIpv4, isIpv6 } from '../lib/address.js';
import { isObj, type Problem } from './clab-nodes.js';

type Obj = Record<string, unknown>;

/** The implicit node that stands in for the lab host, and the management bridge. */
export const HOST_NODE = 'host';
export const MGMT_NODE = 'mgmt-net';

export interface NormalLink {
  endpoints: [string, string];
  mtu?: unknown;
  mac?: (string | null)[];
  ipv4?: (string | null)[];
  ipv6?: (string | null)[];
  vars?: unknown;
  labels?: unknown;
}

export interface LinkContext {
  /** The node of kind host, if the file declares one. */
  hostNode: string | undefined;
  /** Set when an end needs the implicit host / management nodes. */
  needs: { host: boolean; mgmt: boolean };
}

const LINK_FIELDS = new Set(['type', 'endpoints', 'endpoint', 'host-interface', 'mtu', 'vars', 'labels', 'ipv4', 'ipv6']);
const END_FIELDS = new Set(['node', 'interface', 'mac', 'ipv4', 'ipv6', 'vars']);
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** "10.0.0.1/30" / "fd00::1/64": an interface address with its prefix length. */
export function isIfAddress(s: unknown, family: 4 | 6): s is string {
  if (typeof s !== 'string') return false;
  const [a, len, ...rest] = s.split('/');
  const n = Number(len);
  if (rest.length > 0 || len === undefined || !/^\d{1,3}$/.test(len)) return false;
  return family === 4 ? isIpv4(a) && n <= 32 : isIpv6(a) && n <= 128;
}

function mapEnd(ep: string, ctx: LinkContext, path: (string | number)[], at: Problem): string {
  const i = ep.indexOf(':');
  if (i <= 0) return ep; // the schema reports the shape
  const node = ep.slice(0, i);
  const rest = ep.slice(i + 1);
  if (node === 'host' && ctx.hostNode !== HOST_NODE) {
    ctx.needs.host = ctx.hostNode === undefined;
    return `${ctx.hostNode ?? HOST_NODE}:${rest}`;
  }
  if (node === 'mgmt-net') ctx.needs.mgmt = true;
  if (node === 'macvlan') at(path, `${ep}: macvlan ends attach to a real interface of this machine; weft lab never touches the machine's network (link to a kind: bridge node instead)`);
  return ep;
}

/** One end of the long syntax: { node, interface, mac, ipv4, ipv6 }. */
function longEnd(e: unknown, path: (string | number)[], at: Problem): { ep: string; mac?: string; ipv4?: string; ipv6?: string } | undefined {
  if (!isObj(e)) {
    at(path, 'must be { node: NAME, interface: IF } (or use the brief syntax "node:interface")');
    return undefined;
  }
  for (const k of Object.keys(e)) if (!END_FIELDS.has(k)) at([...path, k], `${k} is not an endpoint field weft lab supports (node, interface, mac, vars)`);
  if (typeof e.node !== 'string' || typeof e.interface !== 'string') {
    at(path, 'an endpoint needs node and interface');
    return undefined;
  }
  const one = (v: unknown) => (Array.isArray(v) && v.length === 1 ? v[0] : v);
  const vars = isObj(e.vars) ? e.vars : {};
  const v4 = e.ipv4 ?? vars.ipv4;
  const v6 = e.ipv6 ?? vars.ipv6;
  return { ep: `${e.node}:${e.interface}`, ...(e.mac !== undefined ? { mac: e.mac as string } : {}), ...(v4 !== undefined ? { ipv4: one(v4) as string } : {}), ...(v6 !== undefined ? { ipv6: one(v6) as string } : {}) };
}

/** A link of either syntax in the normal shape; problems reported with the link's path. */
export function normaliseLink(l: unknown, i: number, ctx: LinkContext, at: Problem): NormalLink | undefined {
  const path = ['topology', 'links', i];
  if (!isObj(l)) {
    at(path, 'a link is { endpoints: ["a:eth1", "b:eth1"] } (or the long syntax with type: veth)');
    return undefined;
  }
  for (const k of Object.keys(l)) if (!LINK_FIELDS.has(k)) at([...path, k], `${k} is not a link field weft lab supports (type, endpoints, endpoint, host-interface, mtu, vars, labels, ipv4, ipv6)`);
  const type = l.type;
  let ends: { ep: string; mac?: string; ipv4?: string; ipv6?: string }[] = [];
  if (type === undefined) {
    if (!Array.isArray(l.endpoints) || l.endpoints.length !== 2 || !l.endpoints.every((e) => typeof e === 'string')) {
      at([...path, 'endpoints'], 'must be two "node:interface" strings, like ["r1:eth1", "r2:eth1"] (or give type: veth and endpoints as { node, interface })');
      return undefined;
    }
    ends = (l.endpoints as string[]).map((ep) => ({ ep }));
  } else if (type === 'veth') {
    if (!Array.isArray(l.endpoints) || l.endpoints.length !== 2) {
      at([...path, 'endpoints'], 'a veth link has two endpoints, each { node, interface }');
      return undefined;
    }
    const got = l.endpoints.map((e, j) => longEnd(e, [...path, 'endpoints', j], at));
    if (got.some((e) => e === undefined)) return undefined;
    ends = got as typeof ends;
  } else if (type === 'host' || type === 'mgmt-net') {
    const e = longEnd(l.endpoint, [...path, 'endpoint'], at);
    const hif = l['host-interface'];
    if (typeof hif !== 'string') at([...path, 'host-interface'], `a ${type} link names the interface on the ${type === 'host' ? 'host' : 'management bridge'} side: host-interface`);
    if (e === undefined || typeof hif !== 'string') return undefined;
    ends = [e, { ep: `${type}:${hif}` }];
  } else {
    at([...path, 'type'], `link type ${String(type)} is not supported: weft lab makes veth pairs between its namespaces (type veth, host or mgmt-net); macvlan, vxlan and dummy links would touch this machine's network or need a device this kernel lacks`);
    return undefined;
  }
  const endPath = (j: number) => (type === undefined || type === 'veth' ? [...path, 'endpoints', j] : [...path, j === 0 ? 'endpoint' : 'host-interface']);
  const out: NormalLink = { endpoints: ends.map((e, j) => mapEnd(e.ep, ctx, endPath(j), at)) as [string, string] };
  if (l.mtu !== undefined) {
    if (typeof l.mtu !== 'number' || !Number.isInteger(l.mtu) || l.mtu < 68 || l.mtu > 65535) at([...path, 'mtu'], 'must be a whole number of bytes from 68 to 65535');
    out.mtu = l.mtu;
  }
  for (const fam of [4, 6] as const) {
    const key = fam === 4 ? 'ipv4' : 'ipv6';
    const linkLevel = l[key] ?? (isObj(l.vars) ? l.vars[key] : undefined);
    const where = l[key] !== undefined ? [key] : ['vars', key];
    let addrs: (string | null)[] = ends.map((e) => e[key] ?? null);
    if (linkLevel !== undefined) {
      if (!Array.isArray(linkLevel) || linkLevel.length !== 2) {
        at([...path, ...where], `must list one address per endpoint, like ["${fam === 4 ? '10.0.0.1/30", "10.0.0.2/30' : 'fd00::1/64", "fd00::2/64'}"] ("" for none)`);
        continue;
      }
      addrs = linkLevel.map((a) => (a === '' || a === null ? null : (a as string)));
    }
    addrs.forEach((a, j) => {
      if (a !== null && !isIfAddress(a, fam)) at([...path, ...(linkLevel !== undefined ? [...where, j] : ['endpoints', j, 'vars', key])], `must be an IPv${fam} address with its prefix length, like ${fam === 4 ? '10.0.0.1/30' : 'fd00::1/64'}`);
    });
    if (addrs.some((a) => a !== null)) out[key] = addrs;
  }
  const macs = ends.map((e) => e.mac ?? null);
  macs.forEach((m, j) => {
    if (m !== null && !MAC.test(m)) at([...path, 'endpoints', j, 'mac'], 'must be a MAC address like 02:42:ac:00:00:01');
  });
  if (macs.some((m) => m !== null)) out.mac = macs;
  if (l.vars !== undefined) out.vars = l.vars;
  if (l.labels !== undefined) out.labels = l.labels;
  return out;
}

/** The ends of a link as `ip link add` arguments: name, MAC and MTU of each end (see up.ts). */
export function vethEndArgs(iface: string, mac: string | null | undefined, mtu: number | undefined): string[] {
  return ['name', iface, ...(mac ? ['address', mac] : []), ...(mtu !== undefined ? ['mtu', String(mtu)] : [])];
}

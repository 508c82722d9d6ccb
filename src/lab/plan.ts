/**
 * From a validated topology to what `weft lab` does: the variant chosen (encapsulation and
 * expectations per family), one generated `weft agent` configuration per host (checked with the
 * agent's own schema), and the pod pairs of the ping matrix (one per family both pods have an
 * address of) with the outcome each must have.
 */
import { parseAgentConfig } from '../agent/config/agent-config.js';
import { ConfigError, readYamlFile } from '../agent/config/config-errors.js';
import { formatPrefix, parsePrefix, prefixContains } from '../lib/prefix.js';
import { familyOf, hostPrefix, hostUplinks, nodeAddresses, parseTopology, type Encapsulation, type Expectation, type Family, type Outcome, type Topology } from './topology.js';

export type Relation = 'sameHost' | 'sameSubnet' | 'crossSubnet';
export type FamilyName = 'ipv4' | 'ipv6';
export const FAMILY_NAMES: Record<Family, FamilyName> = { 4: 'ipv4', 6: 'ipv6' };
/** What each relation's pairs must do, per family. */
export type Expected = Record<FamilyName, Record<Relation, Outcome>>;

export interface Selection {
  /** The variant used (named with --variant, or the one whose encapsulation --encapsulation names). */
  variant: string | undefined;
  /** Encapsulation forced on every pool, if any. */
  encapsulation: Encapsulation | undefined;
  expect: Expected;
  /** The lab's name in the state dir: name, or name-variant / name-encapsulation. */
  key: string;
}

export interface SelectOptions {
  variant?: string;
  encapsulation?: Encapsulation;
}

export function loadTopology(file: string): Topology {
  return parseTopology(readYamlFile(file), file);
}

export function selectVariant(t: Topology, o: SelectOptions, source = t.name): Selection {
  const x = t['x-weft'];
  const base: Record<Relation, Outcome> = { sameHost: 'pass', sameSubnet: 'pass', crossSubnet: 'pass' };
  // Later expectations win; within one, the family's own section wins over the plain relations.
  const defined = (v: Partial<Record<Relation, Outcome>> | undefined) => Object.fromEntries(Object.entries(v ?? {}).filter(([k, w]) => w !== undefined && k in base));
  const merge = (...e: Expectation[]): Expected => ({
    ipv4: Object.assign({}, base, ...e.flatMap((v) => [defined(v), defined(v.ipv4)])) as Record<Relation, Outcome>,
    ipv6: Object.assign({}, base, ...e.flatMap((v) => [defined(v), defined(v.ipv6)])) as Record<Relation, Outcome>,
  });
  let name = o.variant;
  if (name !== undefined && !(name in x.variants)) {
    const known = Object.keys(x.variants);
    throw new ConfigError(source, [`--variant ${name}: no such variant in x-weft.variants (${known.length ? known.join(', ') : 'the file declares none'})`]);
  }
  if (name === undefined && o.encapsulation !== undefined) {
    name = Object.entries(x.variants).find(([, v]) => v.encapsulation === o.encapsulation)?.[0];
  }
  const v = name === undefined ? undefined : x.variants[name];
  const encapsulation = o.encapsulation ?? v?.encapsulation;
  const suffix = name ?? encapsulation;
  return { variant: name, encapsulation, expect: merge(x.expect, v?.expect ?? {}), key: suffix === undefined ? t.name : `${t.name}-${suffix}` };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects merged key by key (recursively); anything else in `over` replaces what is in `base`. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

/** The node address of a host (IPv4 when it has one, else IPv6), with its length. */
export function nodeAddress(t: Topology, host: string): string {
  const a = nodeAddresses(t['x-weft'].hosts[host]);
  return (a.v4 ?? a.v6) as string; // topology.ts: every host has one
}

/** The underlay address of a host, without its length (what its mesh peers dial). */
export function hostAddress(t: Topology, host: string): string {
  return nodeAddress(t, host).split('/')[0];
}

/**
 * The `weft agent` configuration of one host, as a plain object (written as JSON, which is YAML).
 * Mesh: every host of the same AS whose mesh setting is on (the list includes the host itself; the
 * agent skips its own entry). Pools: x-weft.defaults.pools with the variant's encapsulation.
 */
export function agentConfigFor(t: Topology, host: string, sel: Selection, socket: string): Record<string, unknown> {
  const x = t['x-weft'];
  const d = x.defaults;
  const h = x.hosts[host];
  const asn = h.asn ?? d.asn;
  const meshOn = (s: typeof h) => s.mesh ?? d.mesh;
  const mesh = meshOn(h)
    ? {
        nodes: Object.entries(x.hosts)
          .filter(([, s]) => meshOn(s) && (s.asn ?? d.asn) === asn)
          .map(([name]) => ({ name, address: hostAddress(t, name) })),
      }
    : { enabled: false };
  const pools = d.pools.map((p) => {
    const enc = sel.encapsulation ?? p.encapsulation;
    return { ...p, ...(enc === undefined ? {} : { encapsulation: enc }) };
  });
  // node.address is the IPv4 underlay address when there is one; the other family goes in
  // node.address6 (or node.address4 on an IPv6-only-primary host: not generated, no such lab).
  const { v4, v6 } = nodeAddresses(h);
  const uplinks = hostUplinks(h);
  // Listen on the node address when every session is over it (one uplink, peers of its family);
  // otherwise on every address of the family the sessions use ("::" takes IPv4 too).
  const primary = nodeAddress(t, host);
  const fams = new Set([familyOf(primary.split('/')[0]), ...h.peers.map((p) => familyOf(p.address))]);
  const listenAddress = uplinks.length === 1 && fams.size === 1 ? primary.split('/')[0] : fams.has(6) ? '::' : '0.0.0.0';
  const generated: Record<string, unknown> = {
    node: { name: host, asn, ...(h.routerId ? { routerId: h.routerId } : {}), address: primary, ...(v4 !== undefined && v6 !== undefined ? { address6: v6 } : {}) },
    listen: { address: listenAddress, port: 179 },
    mesh,
    peers: h.peers,
    pools,
    blocks: h.blocks.map(formatPrefix),
    control: { socket },
    metrics: false,
    timers: d.timers,
    logLevel: d.logLevel,
    // The lab knows which interface carries the underlay (the node address's, the VXLAN source):
    // say so rather than have the agent guess.
    dataplane: { underlayDevice: uplinks.find((u) => u.address === primary || u.address6 === primary)?.name ?? uplinks[0].name },
  };
  return deepMerge(deepMerge(generated, d.agent), h.agent);
}

/** Every host's agent configuration, each checked with the agent's schema. Throws ConfigError. */
export function agentConfigs(t: Topology, sel: Selection, socketFor: (host: string) => string, source = t.name): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  const problems: string[] = [];
  for (const host of Object.keys(t['x-weft'].hosts)) {
    const cfg = agentConfigFor(t, host, sel, socketFor(host));
    try {
      parseAgentConfig(cfg, host);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      for (const p of e.problems) problems.push(`x-weft.hosts.${host} (its generated agent config): ${p}`);
    }
    out.set(host, cfg);
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
  return out;
}

/** A host's underlay addresses (with lengths) of one family, on all its uplinks. */
function underlay(t: Topology, host: string, family: Family): string[] {
  return hostUplinks(t['x-weft'].hosts[host]).flatMap((u) => (family === 4 ? [u.address] : [u.address6]).filter((a): a is string => a !== undefined));
}

/**
 * How two pods relate: on one host, on hosts that share an underlay subnet, or across subnets.
 * The subnets of `family` decide (an IPv6 pair: the hosts' IPv6 underlay), or the other family's
 * when a host has no underlay address of that one.
 */
export function relation(t: Topology, podA: string, podB: string, family: Family = 4): Relation {
  const x = t['x-weft'];
  const ha = x.pods[podA].host;
  const hb = x.pods[podB].host;
  if (ha === hb) return 'sameHost';
  const f: Family = underlay(t, ha, family).length > 0 && underlay(t, hb, family).length > 0 ? family : family === 4 ? 6 : 4;
  const theirs = underlay(t, hb, f).map((a) => hostPrefix(a.split('/')[0]));
  const shared = underlay(t, ha, f).some((a) => theirs.some((b) => prefixContains(parsePrefix(a, true), b)));
  return shared ? 'sameSubnet' : 'crossSubnet';
}

export interface PodPair {
  from: string;
  to: string;
  fromHost: string;
  toHost: string;
  /** 4: ping, 6: ping -6. */
  family: Family;
  address: string;
  relation: Relation;
  expected: Outcome;
}

/** Every ordered pair of distinct pods, in file order: IPv4 pairs, then IPv6 pairs. */
export function podPairs(t: Topology, sel: Selection): PodPair[] {
  const pods = t['x-weft'].pods;
  const names = Object.keys(pods);
  const out: PodPair[] = [];
  for (const family of [4, 6] as const) {
    const addressOf = (p: string) => (family === 4 ? pods[p].address : pods[p].address6);
    for (const from of names) {
      for (const to of names) {
        const address = addressOf(to);
        if (from === to || address === undefined || addressOf(from) === undefined) continue;
        const rel = relation(t, from, to, family);
        out.push({ from, to, fromHost: pods[from].host, toHost: pods[to].host, family, address, relation: rel, expected: sel.expect[FAMILY_NAMES[family]][rel] });
      }
    }
  }
  return out;
}

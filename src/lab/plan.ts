/**
 * From a validated topology to what `weft lab` does: the variant chosen (encapsulation and
 * expectations), one generated `weft agent` configuration per host (checked with the agent's own
 * schema), and the pod pairs of the ping matrix with the outcome each must have.
 */
import { parseAgentConfig } from '../agent/config/agent-config.js';
import { ConfigError, readYamlFile } from '../agent/config/config-errors.js';
import { formatPrefix, parsePrefix, prefixContains } from '../lib/prefix.js';
import { parseTopology, type Encapsulation, type Expectation, type Outcome, type Topology } from './topology.js';

export type Relation = 'sameHost' | 'sameSubnet' | 'crossSubnet';

export interface Selection {
  /** The variant used (named with --variant, or the one whose encapsulation --encapsulation names). */
  variant: string | undefined;
  /** Encapsulation forced on every pool, if any. */
  encapsulation: Encapsulation | undefined;
  expect: Record<Relation, Outcome>;
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
  const merge = (...e: Expectation[]) => Object.assign({}, base, ...e.map((v) => Object.fromEntries(Object.entries(v).filter(([, w]) => w !== undefined)))) as Record<Relation, Outcome>;
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

/** The underlay address of a host, without its length. */
export function hostAddress(t: Topology, host: string): string {
  return t['x-weft'].hosts[host].address.split('/')[0];
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
  const generated: Record<string, unknown> = {
    node: { name: host, asn, ...(h.routerId ? { routerId: h.routerId } : {}), address: h.address },
    listen: { address: hostAddress(t, host), port: 179 },
    mesh,
    peers: h.peers,
    pools,
    blocks: h.blocks.map(formatPrefix),
    control: { socket },
    metrics: false,
    timers: d.timers,
    logLevel: d.logLevel,
    // The lab knows which interface carries the underlay: say so rather than have the agent guess.
    dataplane: { underlayDevice: h.interface },
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

/** How two pods relate: on one host, on hosts in one underlay subnet, or across subnets. */
export function relation(t: Topology, podA: string, podB: string): Relation {
  const x = t['x-weft'];
  const ha = x.pods[podA].host;
  const hb = x.pods[podB].host;
  if (ha === hb) return 'sameHost';
  const subnet = parsePrefix(x.hosts[ha].address, true);
  return prefixContains(subnet, parsePrefix(`${hostAddress(t, hb)}/32`)) ? 'sameSubnet' : 'crossSubnet';
}

export interface PodPair {
  from: string;
  to: string;
  fromHost: string;
  toHost: string;
  address: string;
  relation: Relation;
  expected: Outcome;
}

/** Every ordered pair of distinct pods, in file order. */
export function podPairs(t: Topology, sel: Selection): PodPair[] {
  const pods = t['x-weft'].pods;
  const names = Object.keys(pods);
  const out: PodPair[] = [];
  for (const from of names) {
    for (const to of names) {
      if (from === to) continue;
      const rel = relation(t, from, to);
      out.push({ from, to, fromHost: pods[from].host, toHost: pods[to].host, address: pods[to].address, relation: rel, expected: sel.expect[rel] });
    }
  }
  return out;
}

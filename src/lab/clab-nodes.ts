/**
 * containerlab's node schema, as far as weft lab can honour it on plain network namespaces:
 * inheritance from topology.defaults, topology.kinds.<kind> and topology.groups.<group> in
 * containerlab's order, and one clear refusal for everything that would need a container.
 *
 * Inheritance (what containerlab does, from its docs and its Topology getters):
 *   - kind: node > group > defaults (a kind has no kind);
 *   - scalars (image, cmd, startup-config, ...): node > group > kind > defaults, first one set wins;
 *   - exec: appended, defaults first, then kind, group, node;
 *   - binds: appended in the same order, one per container path: a lower level's bind to the same
 *     destination replaces the higher level's;
 *   - env, labels, sysctls: maps merged, the lower level's value wins per key.
 * What each node then is:
 *   - kind bridge: a Linux bridge in a namespace of its own; kind host: the namespace standing in
 *     for the lab host (weft never touches the machine's real network: see clab-links.ts);
 *   - kind linux with an FRR image (name contains "frr") or a BIRD image ("bird"): the Debian
 *     daemons in the node's namespace, configured from startup-config or the binds FRR/BIRD read
 *     (/etc/frr/frr.conf, /etc/frr/daemons, /etc/bird/bird.conf, /etc/bird.conf, or the directory);
 *   - any other linux image (alpine, ubuntu, busybox, weft ...): a plain namespace.
 * Fields that only shape a container (ports, memory, restart-policy ...) are accepted and listed in
 * a note; anything that needs a container filesystem or an image weft cannot run is refused with
 * the node, the field path and what to do.
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export type Problem = (path: (string | number)[], message: string) => void;
type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Node kinds weft realises; every other containerlab kind is refused. `frr` is containerlab's
 * native FRR kind (alias `frrouting`): FRR whatever the image, daemons from extras.frr.daemons.
 */
export const CLAB_KINDS = ['linux', 'bridge', 'host', 'frr'] as const;

/** FRR daemons containerlab's frr kind accepts in extras.frr.daemons (zebra, staticd, mgmtd, watchfrr always run). */
export const FRR_KIND_DAEMONS = ['bgpd', 'ospfd', 'ospf6d', 'ripd', 'ripngd', 'isisd', 'pimd', 'pim6d', 'ldpd', 'nhrpd', 'eigrpd', 'babeld', 'sharpd', 'pbrd', 'bfdd', 'fabricd', 'vrrpd', 'pathd'];

/** Node fields weft honours (after inheritance). */
const HONOURED = new Set(['kind', 'image', 'group', 'exec', 'env', 'labels', 'binds', 'startup-config', 'cmd', 'sysctls', 'network-mode', 'extras']);

/** Fields that shape only a container or its management plane: accepted, noted, no effect. */
const NO_MEANING = new Set([
  'type', 'image-pull-policy', 'restart-policy', 'auto-remove', 'startup-delay', 'mgmt-ipv4', 'mgmt-ipv6', 'mgmt_ipv4', 'mgmt_ipv6', 'cgroup-parent',
  'ports', 'user', 'memory', 'cpu', 'cpu-set', 'shm-size', 'dns', 'publish', 'runtime', 'license', 'enforce-startup-config',
  'suppress-startup-config', 'certificate', 'healthcheck', 'cap-add', 'devices', 'aliases',
]);

/** What runs in a linux node, from its image name. */
export type Flavour = 'frr' | 'bird' | 'plain';

export function imageFlavour(image: string | undefined): Flavour {
  const name = (image ?? '').toLowerCase();
  if (/(^|[/_.-])frr(outing)?([/:_.-]|$)/.test(name) || name.includes('frrouting')) return 'frr';
  if (/(^|[/_.-])bird[0-9]?([/:_.-]|$)/.test(name)) return 'bird';
  return 'plain';
}

/** Network OS images that only run as containers or VMs: refused even under kind linux. */
const NOS_IMAGE = /srlinux|ceos|vrnetlab|crpd|cvx|xrd|sonic|vr-|vjunos|cisco|juniper|arista/i;

/** Where FRR and BIRD read what weft honours from binds. */
const BIND_TARGETS: Record<Exclude<Flavour, 'plain'>, string[]> = {
  frr: ['/etc/frr/frr.conf', '/etc/frr/daemons', '/etc/frr/vtysh.conf', '/etc/frr'],
  bird: ['/etc/bird/bird.conf', '/etc/bird.conf', '/etc/bird'],
};

const WHY_NO_CONTAINER = 'weft lab runs no containers: every node is a network namespace of this machine running its Debian binaries';

/** A node after inheritance, as the topology schema takes it. */
export interface MergedNode {
  kind?: unknown;
  image?: unknown;
  exec: unknown[];
  env: Obj;
  labels: Obj;
  sysctls: Obj;
  binds: string[];
  cmd?: unknown;
  'startup-config'?: unknown;
  /** kind frr: extras.frr.daemons (undefined: every daemon, as containerlab starts them all). */
  daemons?: unknown;
  extras?: unknown;
}

/** Expands a containerlab host path: ~, relative to the topology file's directory. */
export function hostPath(p: string, source: string): string {
  if (p === '~' || p.startsWith('~/')) return join(homedir(), p.slice(1));
  return isAbsolute(p) ? p : resolve(dirname(source), p);
}

function mergeMaps(levels: unknown[]): Obj {
  const out: Obj = {};
  for (const l of levels) if (isObj(l)) for (const [k, v] of Object.entries(l)) out[k] = typeof v === 'number' || typeof v === 'boolean' ? String(v) : v;
  return out;
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

/** The container path of a bind "host:container[:mode]" (or the one path of an anonymous volume). */
function bindTarget(b: string): string {
  const parts = b.split(':');
  return parts.length >= 2 ? parts[1] : parts[0];
}

/**
 * One node with what it inherits. `levels` are defaults, kind, group, node (missing ones {}).
 * Per-level field names that are neither honoured nor meaningless are reported by `checkFields`.
 */
export function mergeNode(levels: [Obj, Obj, Obj, Obj]): MergedNode {
  const [d0, k, g0, n] = levels;
  // A bridge runs nothing: what defaults and groups say about processes and files is for the
  // other nodes (its own fields, and its kind section's, still count, and are refused if wrong).
  const forBridge = (l: Obj): Obj => Object.fromEntries(Object.entries(l).filter(([key]) => ['kind', 'env', 'labels', 'sysctls'].includes(key)));
  const bridge = (n.kind ?? g0.kind ?? d0.kind) === 'bridge';
  const d = bridge ? forBridge(d0) : d0;
  const g = bridge ? forBridge(g0) : g0;
  const first = (key: string) => [n, g, k, d].map((l) => l[key]).find((v) => v !== undefined && v !== null && v !== '');
  const binds = new Map<string, string>();
  for (const l of [d, k, g, n]) for (const b of list(l.binds)) if (typeof b === 'string') binds.set(bindTarget(b), b);
  const out: MergedNode = {
    kind: n.kind ?? g.kind ?? d.kind,
    image: first('image'),
    exec: [d, k, g, n].flatMap((l) => list(l.exec)),
    env: mergeMaps([d.env, k.env, g.env, n.env]),
    labels: mergeMaps([d.labels, k.labels, g.labels, n.labels]),
    sysctls: mergeMaps([d.sysctls, k.sysctls, g.sysctls, n.sysctls]),
    binds: [...binds.values()],
  };
  const cmd = first('cmd');
  if (cmd !== undefined) out.cmd = cmd;
  const sc = first('startup-config');
  if (sc !== undefined) out['startup-config'] = sc;
  const extras = first('extras');
  if (extras !== undefined) out.extras = extras;
  return out;
}

/** Reports fields of one level (defaults, a kind, a group or a node) weft refuses; returns the ignored ones. */
export function checkFields(level: Obj, path: (string | number)[], at: Problem): string[] {
  const ignored: string[] = [];
  for (const [key, v] of Object.entries(level)) {
    if (key === 'network-mode' && v !== 'none' && v !== undefined) at([...path, key], `network-mode ${String(v)} needs docker networking; weft lab supports only none (every node has exactly the links of topology.links)`);
    if (HONOURED.has(key)) continue;
    if (NO_MEANING.has(key)) ignored.push(key);
    else if (key === 'entrypoint') at([...path, key], `${WHY_NO_CONTAINER}, so there is no entrypoint to replace; put the command in cmd (run with sh -c) instead`);
    else if (key === 'env-files') at([...path, key], 'env-files are not read by weft lab: put the variables in env (remove env-files)');
    else if (key === 'stages' || key === 'wait-for') at([...path, key], 'startup stages are not supported: weft lab brings nodes up in file order (remove stages)');
    else at([...path, key], `${key} is not a containerlab node field weft lab supports (${WHY_NO_CONTAINER}); remove it`);
  }
  return ignored;
}

export interface NodeRefusalInput {
  name: string;
  node: MergedNode;
  source: string;
}

/**
 * The refusals of one merged node: kinds and images weft cannot run, binds it cannot honour, a
 * startup-config nothing would apply. Rewrites binds and a startup-config path to absolute host
 * paths (containerlab resolves them against the topology file's directory).
 */
export function checkNode({ name, node, source }: NodeRefusalInput, at: Problem): void {
  const path = ['topology', 'nodes', name];
  const kind = node.kind;
  if (kind === undefined) {
    at([...path, 'kind'], 'no kind: set it on the node, in its group (topology.groups.<g>.kind) or in topology.defaults.kind (linux, bridge or host)');
    return;
  }
  if (kind === 'frrouting') node.kind = 'frr'; // containerlab's alias
  if (typeof kind !== 'string' || !(CLAB_KINDS as readonly string[]).includes(node.kind as string)) {
    at([...path, 'kind'], `must be one of ${CLAB_KINDS.join(', ')}: node ${name} is of kind ${String(kind)}, which weft lab cannot run (${WHY_NO_CONTAINER}; it realises kinds ${CLAB_KINDS.join(', ')}): use kind frr, or kind linux with an FRR or BIRD image, or run this lab with containerlab`);
    return;
  }
  const image = typeof node.image === 'string' ? node.image : undefined;
  if (kind === 'linux' && image !== undefined && NOS_IMAGE.test(image) && imageFlavour(image) === 'plain') {
    at([...path, 'image'], `node ${name}: image ${image} is a network OS that runs only as a container or VM; weft lab cannot run it (use an FRR or BIRD image, or containerlab)`);
  }
  const flavour = node.kind === 'frr' ? 'frr' : kind === 'linux' ? imageFlavour(image) : 'plain';
  checkExtras(name, node, path, at);
  if (kind !== 'linux' && node.kind !== 'frr') {
    for (const key of ['image', 'cmd', 'startup-config'] as const) {
      if (node[key] !== undefined && !(kind === 'bridge' && key === 'image')) at([...path, key], `node ${name} is of kind ${kind}: ${key} has no meaning for it (remove it)`);
    }
    if (kind === 'bridge' && node.exec.length > 0) at([...path, 'exec'], `node ${name} is a bridge: it runs no commands (remove exec)`);
  }
  node.binds = node.binds.map((b, i) => {
    const parts = b.split(':');
    const bp = [...path, 'binds', i];
    if (parts.length < 2 || parts[0] === '') {
      at(bp, `node ${name}: ${b} is an anonymous volume; ${WHY_NO_CONTAINER} (remove the bind)`);
      return b;
    }
    const target = parts[1].replace(/\/+$/, '') || '/';
    if (flavour === 'plain' || !BIND_TARGETS[flavour].includes(target)) {
      const honoured = flavour === 'plain' ? `image ${image ?? '(none)'} runs no FRR or BIRD, whose config files are the only binds weft honours` : `for ${flavour.toUpperCase()} weft honours binds to ${BIND_TARGETS[flavour].join(', ')}`;
      at(bp, `node ${name}: cannot bind ${parts[0]} to ${parts[1]}: ${WHY_NO_CONTAINER}, and ${honoured}; remove the bind (addresses and routes go in exec lines)`);
      return b;
    }
    if (parts[0].includes('__clab')) {
      at(bp, `node ${name}: ${parts[0]} uses containerlab's lab directory variables, which weft lab has no equivalent of; give the path relative to the topology file`);
      return b;
    }
    const abs = hostPath(parts[0], source);
    if (!existsSync(abs)) at(bp, `node ${name}: ${abs} (the host side of the bind) does not exist`);
    else if (target.endsWith('frr') || target.endsWith('bird') ? !statSync(abs).isDirectory() : statSync(abs).isDirectory()) {
      at(bp, `node ${name}: ${abs} is ${statSync(abs).isDirectory() ? 'a directory' : 'a file'}, but ${target} is ${target.endsWith('frr') || target.endsWith('bird') ? 'a directory' : 'a file'}`);
    }
    return `${abs}:${target}`;
  });
  const sc = node['startup-config'];
  if (sc !== undefined) {
    const sp = [...path, 'startup-config'];
    if (typeof sc !== 'string') at(sp, 'must be a path to a file, or the config itself as a multi-line string');
    else if (flavour === 'plain') {
      at(sp, `node ${name}: image ${image ?? '(none)'} runs no routing daemon weft knows (FRR: an image name with "frr"; BIRD: "bird"), so nothing would apply this config; remove it or use such an image`);
    } else if (!sc.includes('\n')) {
      if (/^https?:\/\//.test(sc)) at(sp, `node ${name}: weft lab does not download configs (${sc}); save it next to the topology file and give its path`);
      else {
        const abs = hostPath(sc, source);
        if (!existsSync(abs) || statSync(abs).isDirectory()) at(sp, `node ${name}: ${abs} is not a file (an embedded config must span several lines)`);
        node['startup-config'] = abs;
      }
    }
  }
  if (node.cmd !== undefined && typeof node.cmd !== 'string') at([...path, 'cmd'], 'must be one command line (run with sh -c)');
}

/** extras: only extras.frr.daemons of kind frr means something to weft; the list becomes node.daemons. */
function checkExtras(name: string, node: MergedNode, path: (string | number)[], at: Problem): void {
  const ex = node.extras;
  delete node.extras;
  if (ex === undefined) return;
  const ep = [...path, 'extras'];
  if (!isObj(ex)) return at(ep, 'must be a map (weft honours extras.frr.daemons of kind frr)');
  for (const k of Object.keys(ex)) if (k !== 'frr' || node.kind !== 'frr') at([...ep, k], `node ${name}: extras.${k} is not supported${node.kind === 'frr' ? '' : ` for kind ${String(node.kind)}`} (weft honours extras.frr.daemons of kind frr); remove it`);
  const frr = ex.frr;
  if (node.kind !== 'frr' || frr === undefined) return;
  if (!isObj(frr) || Object.keys(frr).some((k) => k !== 'daemons')) return at([...ep, 'frr'], 'only extras.frr.daemons is supported: a list of FRR daemons');
  if (!Array.isArray(frr.daemons)) return at([...ep, 'frr', 'daemons'], `must be a list of FRR daemons (${FRR_KIND_DAEMONS.join(', ')})`);
  const always = ['zebra', 'staticd', 'mgmtd', 'watchfrr'];
  frr.daemons.forEach((d, i) => {
    if (typeof d !== 'string' || (!FRR_KIND_DAEMONS.includes(d) && !always.includes(d))) at([...ep, 'frr', 'daemons', i], `node ${name}: ${String(d)} is not an FRR daemon containerlab's frr kind accepts (${FRR_KIND_DAEMONS.join(', ')})`);
  });
  node.daemons = frr.daemons.filter((d) => typeof d === 'string' && !always.includes(d));
}

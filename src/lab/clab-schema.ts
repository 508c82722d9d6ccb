/**
 * The containerlab layer of a lab file, applied before the topology schema (topology.ts) sees it:
 * topology.defaults / kinds / groups folded into each node (clab-nodes.ts), both link syntaxes
 * brought to one (clab-links.ts), the implicit `host` and `mgmt-net` nodes added, and every
 * refusal collected with its path. Returns the value the schema parses and notes for the user
 * (fields accepted without effect).
 */
import { formatPath } from '../agent/config/config-errors.js';
import { HOST_NODE, MGMT_NODE, normaliseLink, type LinkContext } from './clab-links.js';
import { checkFields, checkNode, isObj, mergeNode, type MergedNode } from './clab-nodes.js';

type Obj = Record<string, unknown>;

export interface Normalised {
  value: unknown;
  /** Fields accepted with no effect in a namespace, per path. */
  notes: string[];
  /** Refusals, each "path: message" (reported together with the schema's problems). */
  problems: string[];
}

const obj = (v: unknown): Obj => (isObj(v) ? v : {});

/** Collects every refusal; leaves shape errors (a missing topology, ...) to the schema. */
export function normaliseClab(raw: unknown, source: string): Normalised {
  if (!isObj(raw) || !isObj(raw.topology) || !isObj(raw.topology.nodes)) return { value: raw, notes: [], problems: [] };
  const problems: string[] = [];
  const at = (path: (string | number)[], msg: string) => problems.push(`${formatPath(path)}: ${msg}`);
  const notes: string[] = [];
  const topo = raw.topology as Obj & { nodes: Obj };
  const defaults = obj(topo.defaults);
  const kinds = obj(topo.kinds);
  const groups = obj(topo.groups);
  for (const [k, p] of [[topo.defaults, 'defaults'], [topo.kinds, 'kinds'], [topo.groups, 'groups']] as const) {
    if (k !== undefined && !isObj(k)) at(['topology', p], `must be a map${p === 'defaults' ? ' of node fields' : ` of ${p.slice(0, -1)} names to node fields`}`);
  }
  const ignore = (level: Obj, path: (string | number)[]) => {
    for (const key of checkFields(level, path, at)) notes.push(`${formatPath([...path, key])}: accepted, no effect (a container setting; a namespace has no ${key})`);
  };
  ignore(defaults, ['topology', 'defaults']);
  const checked = new Set<string>();
  const nodes: Record<string, MergedNode> = {};
  for (const [name, raw0] of Object.entries(topo.nodes)) {
    const n = obj(raw0);
    if (raw0 !== null && raw0 !== undefined && !isObj(raw0)) at(['topology', 'nodes', name], 'must be a map of node fields (kind, image, exec, ...)');
    ignore(n, ['topology', 'nodes', name]);
    // containerlab: a node's group, else topology.defaults.group.
    const groupName = n.group ?? defaults.group;
    let g: Obj = {};
    if (groupName !== undefined) {
      if (typeof groupName !== 'string') at(['topology', 'nodes', name, 'group'], 'must be a group name');
      // containerlab: a group not under topology.groups only labels the node (graph sorting).
      else if (isObj(groups[groupName])) {
        g = groups[groupName];
        if (!checked.has(`g:${groupName}`)) ignore(g, ['topology', 'groups', groupName]);
        checked.add(`g:${groupName}`);
      }
    }
    const kindName = n.kind ?? g.kind ?? defaults.kind;
    const k = typeof kindName === 'string' ? obj(kinds[kindName]) : {};
    if (typeof kindName === 'string' && !checked.has(`k:${kindName}`) && isObj(kinds[kindName])) {
      ignore(k, ['topology', 'kinds', kindName]);
      if ('kind' in k) at(['topology', 'kinds', kindName, 'kind'], 'a kind section cannot change the kind (remove it)');
      checked.add(`k:${kindName}`);
    }
    const merged = mergeNode([defaults, k, g, n]);
    checkNode({ name, node: merged, source }, at);
    nodes[name] = merged;
  }
  const hostNodes = Object.entries(nodes).filter(([, n]) => n.kind === 'host').map(([name]) => name);
  if (hostNodes.length > 1) at(['topology', 'nodes', hostNodes[1], 'kind'], `${hostNodes.join(' and ')} are both of kind host, but a lab has one host (weft lab realises it as one namespace): keep one`);
  const ctx: LinkContext = { hostNode: hostNodes[0], needs: { host: false, mgmt: false } };
  const links = Array.isArray(topo.links) ? topo.links.map((l, i) => normaliseLink(l, i, ctx, at)).filter((l) => l !== undefined) : topo.links;
  if (ctx.needs.host) {
    if (HOST_NODE in nodes) at(['topology', 'nodes', HOST_NODE], `links use host:IF ends, which land in a node named ${HOST_NODE} of kind host; this node is of kind ${String(nodes[HOST_NODE].kind)} (rename it)`);
    else nodes[HOST_NODE] = mergeNode([{}, {}, {}, { kind: 'host' }]);
  }
  if (ctx.needs.mgmt) {
    if (MGMT_NODE in nodes && nodes[MGMT_NODE].kind !== 'bridge') at(['topology', 'nodes', MGMT_NODE], `links use mgmt-net:IF ends, which become ports of the lab's management bridge ${MGMT_NODE}; this node is of kind ${String(nodes[MGMT_NODE].kind)} (rename it)`);
    else nodes[MGMT_NODE] ??= mergeNode([{}, {}, {}, { kind: 'bridge' }]);
  }
  const { defaults: _d, kinds: _k, groups: _g, ...restTopo } = topo;
  void _d, void _k, void _g;
  return { value: { ...raw, topology: { ...restTopo, nodes, links } }, notes, problems };
}

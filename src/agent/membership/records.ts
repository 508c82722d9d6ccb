/**
 * The node record each agent writes at <prefix>/nodes/<name>, and its validation on the reading
 * side. Anything can write to etcd (another tool, an operator, an older weft), so every record is
 * checked before it becomes a mesh member; a record that does not validate is refused with its
 * key and the reason, never applied.
 *
 * A small hand validator rather than zod: zod (with its schemas) costs resident memory the agent
 * otherwise never pays (config parsing runs in a child, config-load.ts), and a record has a few
 * flat fields. Unknown fields are ignored so that a newer weft can add some.
 */
import { isIpv4, isIpv6 } from '../../lib/address.js';
import { parsePrefix } from '../../lib/prefix.js';
import type { MeshNode } from '../config/agent-config.js';

export interface NodeRecord {
  /** Record format; readers refuse a higher major version. */
  version: 1;
  name: string;
  /** The session (mesh) address. */
  address: string;
  /** The BGP port when not 179. */
  port?: number;
  asn: number;
  /** The other family's underlay address, when the node has one (node.address4 / address6). */
  otherAddress?: string;
  /** The VXLAN VNI the node's blocks use by default (its vxlan.vni). */
  vni?: number;
  /** The node's blocks as it advertises them (informational: BGP carries the routes). */
  blocks: string[];
  /** Route-reflection role (membership.etcd.role); absent: mesh. */
  role?: 'reflector' | 'client';
}

export type RecordCheck = { type: 'ok'; record: NodeRecord } | { type: 'refused'; reason: string };

const isAddress = (v: unknown): v is string => typeof v === 'string' && (isIpv4(v) || isIpv6(v));
const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** Checks the value of the key of node `name` (from the key) against this mesh's AS. */
export function checkNodeRecord(name: string, value: string, localAsn: number): RecordCheck {
  const refuse = (reason: string): RecordCheck => ({ type: 'refused', reason });
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    return refuse('not JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return refuse('not a JSON object');
  const o = v as Record<string, unknown>;
  if (o.version !== 1) return refuse(`version ${JSON.stringify(o.version)} is not 1 (written by a newer or foreign writer)`);
  if (o.name !== name) return refuse(`name ${JSON.stringify(o.name)} differs from the key's ${JSON.stringify(name)}`);
  if (!isAddress(o.address)) return refuse(`address ${JSON.stringify(o.address)} is not an IPv4 or IPv6 address`);
  if (o.port !== undefined && !isInt(o.port, 1, 65535)) return refuse(`port ${JSON.stringify(o.port)} is not 1..65535`);
  if (!isInt(o.asn, 1, 4294967295)) return refuse(`asn ${JSON.stringify(o.asn)} is not an AS number`);
  if (o.asn !== localAsn) return refuse(`AS ${o.asn} is not this mesh's AS ${localAsn} (the mesh is iBGP)`);
  if (o.otherAddress !== undefined && !isAddress(o.otherAddress)) return refuse(`otherAddress ${JSON.stringify(o.otherAddress)} is not an address`);
  if (o.vni !== undefined && !isInt(o.vni, 1, 16777215)) return refuse(`vni ${JSON.stringify(o.vni)} is not 1..16777215`);
  if (o.role !== undefined && o.role !== 'reflector' && o.role !== 'client') return refuse(`role ${JSON.stringify(o.role)} is not reflector or client`);
  if (!Array.isArray(o.blocks)) return refuse('blocks is not a list');
  for (const b of o.blocks) {
    try {
      if (typeof b !== 'string') throw new Error('not a string');
      parsePrefix(b);
    } catch {
      return refuse(`block ${JSON.stringify(b)} is not a prefix`);
    }
  }
  const record: NodeRecord = {
    version: 1,
    name,
    address: o.address,
    asn: o.asn,
    blocks: o.blocks as string[],
    ...(o.port !== undefined ? { port: o.port as number } : {}),
    ...(o.otherAddress !== undefined ? { otherAddress: o.otherAddress } : {}),
    ...(o.vni !== undefined ? { vni: o.vni as number } : {}),
    ...(o.role !== undefined ? { role: o.role as 'reflector' | 'client' } : {}),
  };
  return { type: 'ok', record };
}

/** The mesh member a record stands for: the same shape as a nodes-file entry. */
export function meshNodeOf(r: NodeRecord): MeshNode {
  return { name: r.name, address: r.address, ...(r.port !== undefined ? { port: r.port } : {}) };
}

/**
 * The members this node peers with, by route-reflection role: a client peers only with the
 * reflectors (all nodes while there are none); a reflector marks the clients, whose sessions then
 * carry reflected routes (RFC 4456); a mesh node peers with everyone.
 */
export function membersFor(role: 'mesh' | 'reflector' | 'client', records: readonly NodeRecord[]): (MeshNode & { reflectorClient?: true })[] {
  const reflectors = records.filter((r) => r.role === 'reflector');
  const peers = role === 'client' && reflectors.length > 0 ? reflectors : records;
  return peers.map((r) => ({ ...meshNodeOf(r), ...(role === 'reflector' && r.role === 'client' ? { reflectorClient: true as const } : {}) }));
}

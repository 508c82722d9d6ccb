// A BIRD 2 configuration shaped like the one calico-node's confd renders for a node in Calico's
// node-to-node mesh (written here from what confd does, in BIRD 2 syntax), so weft can be tested as
// one host of a Calico cluster:
// - every other node is an iBGP protocol `Mesh_<a_b_c_d>` from one template; towards a peer whose
//   address TEXT sorts higher than this node's the protocol is `passive on` (confd compares the
//   address strings: 10.0.0.9 dials 10.0.0.10, 10.0.0.10 waits for it);
// - graceful restart (120 s towards mesh peers), ADD-PATH, Calico's connect/error timers;
// - routes resolved on the LAN: `direct` with channel `gateway direct` (BIRD 2 would otherwise treat
//   iBGP as multihop and resolve next hops recursively);
// - the node's blocks come from a static blackhole route; only pool routes are exported to peers,
//   and the node's own blocks only whole (more specific routes inside them, the pods' /32s, stay
//   home); no default route is imported from peers;
// - the kernel protocol learns alien routes, persists, and writes what BIRD selected with
//   `merge paths on` (ECMP), so the blackhole goes in as proto bird and peers' blocks via the peer.
// With route reflectors (`peers`, `rrClusterId`; Calico: node-to-node mesh off, a BGPPeer from
// every node to the nodes labelled as reflectors, which have a routeReflectorClusterID), the mesh
// section is replaced by what confd writes then: on a reflector the note that it ignores the mesh
// setting, elsewhere "Node-to-node mesh disabled"; each peer is a `Node_<a_b_c_d>` protocol from
// the same template, and on a reflector a peer without its cluster id (a client) gets `rr client;
// rr cluster id <id>;`, a peer with it (another reflector) is plain iBGP.

export interface CalicoBirdNode {
  /** This node's underlay address (router id, source address). */
  address: string;
  asn: number;
  /** This node's IPAM blocks. */
  blocks: readonly string[];
  /** The IP pools (IPIP/VXLAN off: plain routed, as in a Calico pool with both modes Never). */
  pools: readonly string[];
  /** The other nodes' addresses (this node's own address may be in the list: it is skipped). */
  mesh: readonly string[];
  /**
   * BGP timers of the mesh sessions (seconds). calico-node leaves them at BIRD's defaults (hold 240,
   * keepalive 80); benchmarks set them to what the weft agents beside them use, for a like-for-like
   * idle cost.
   */
  timers?: { hold: number; keepalive: number };
  /** BGPPeer peerings (confd's node-specific peers); with them the node-to-node mesh is off and `mesh` is not read. */
  peers?: readonly CalicoBirdPeer[];
  /** This node's routeReflectorClusterID: it reflects for the peers marked rrClient. */
  rrClusterId?: string;
}

export interface CalicoBirdPeer {
  address: string;
  /** The peer is a client of this reflector (confd: same AS, this node has a cluster id, the peer another or none). */
  rrClient?: boolean;
}

/** The protocol name confd gives a node-specific peer: Node_10_0_0_9. */
export function calicoNodeProtocol(peer: string): string {
  return `Node_${peer.replace(/[.:]/g, '_')}`;
}

/** The mesh section when the node-to-node mesh is off, and the node-specific peers (confd's bird.cfg.template). */
function peersSection(n: CalicoBirdNode, peers: readonly CalicoBirdPeer[]): string {
  const head = n.rrClusterId !== undefined ? `# This node is configured as a route reflector with cluster ID ${n.rrClusterId};\n# ignore node-to-node mesh setting.` : '# Node-to-node mesh disabled';
  const body = peers
    .filter((p) => p.address !== n.address)
    .map((p) => {
      const rr = p.rrClient && n.rrClusterId !== undefined ? `  rr client;\n  rr cluster id ${n.rrClusterId};\n` : '';
      return `protocol bgp ${calicoNodeProtocol(p.address)} from bgp_template {\n  neighbor ${p.address} as ${n.asn};\n  source address ${n.address};\n${rr}}`;
    })
    .join('\n\n');
  return `${head}\n\n# ------------- Node-specific peers -------------\n${body}\n`;
}

/** Calico's rule: passive towards a peer whose address text sorts above ours. */
export function calicoPassiveTowards(self: string, peer: string): boolean {
  return peer > self;
}

/** The protocol name confd gives a mesh peer: Mesh_10_0_0_9. */
export function calicoMeshProtocol(peer: string): string {
  return `Mesh_${peer.replace(/[.:]/g, '_')}`;
}

export function calicoBirdConfig(n: CalicoBirdNode): string {
  const inPools = n.pools.map((p) => `net ~ ${p}`).join(' || ');
  const ownBlocks = n.blocks.map((b) => `  if net = ${b} then accept;\n  if net ~ [ ${b}+ ] then reject;`).join('\n');
  const mesh = n.mesh
    .filter((peer) => peer !== n.address)
    .map(
      (peer) => `protocol bgp ${calicoMeshProtocol(peer)} from bgp_template {
  neighbor ${peer} as ${n.asn};
  source address ${n.address};
${calicoPassiveTowards(n.address, peer) ? '  passive on; # the peer (higher address text) dials us\n' : ''}  graceful restart time 120;
}`,
    )
    .join('\n\n');
  return `router id ${n.address};

# The node's blocks: whole blocks only; anything more specific inside them stays on this node.
function node_blocks() {
${ownBlocks}
}

filter calico_export_to_bgp_peers {
  node_blocks();
  if ${inPools} then accept;
  reject;
}

filter calico_import_from_bgp_peers {
  if net = 0.0.0.0/0 then reject;
  accept;
}

filter calico_kernel_programming {
  accept;
}

protocol kernel {
  learn;
  persist;
  scan time 2;
  graceful restart;
  merge paths on;
  ipv4 {
    import all;
    export filter calico_kernel_programming;
  };
}

protocol device {
  scan time 2;
}

protocol direct {
  interface -"pod*", "*";
  ipv4;
}

protocol static blocks {
  ipv4;
${n.blocks.map((b) => `  route ${b} blackhole;`).join('\n')}
}

template bgp bgp_template {
  description "Connection to BGP peer";
  local as ${n.asn};
  direct;
  graceful restart;
  connect delay time 1;
  connect retry time 3;
  error wait time 5, 60;
${n.timers ? `  hold time ${n.timers.hold};\n  keepalive time ${n.timers.keepalive};\n` : ''}  ipv4 {
    gateway direct;
    import filter calico_import_from_bgp_peers;
    export filter calico_export_to_bgp_peers;
    add paths on;
  };
}

# ------------- Node-to-node mesh -------------
${n.peers === undefined ? `${mesh}\n` : peersSection(n, n.peers)}`;
}

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
${mesh}
`;
}

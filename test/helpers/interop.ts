// Shared pieces of the interop tests (test/live/interop-*.test.ts): the daemons' configurations for
// a session with weft on one LAN, and that LAN with one IPv4 /24 address per member.
import type { Lab } from './netns.js';
import { lan } from './weft.js';

/** BIRD with one eBGP protocol `weft` (hold 9 s, quick reconnects) that imports weft's routes. */
export function birdToWeft(o: { as: number; weft: string; weftAs: number; errorWait?: string }): string {
  return `
protocol device {}
protocol bgp weft {
  local as ${o.as};
  neighbor ${o.weft} as ${o.weftAs};
  hold time 9;
  connect delay time 1;
  connect retry time 1;
  error wait time ${o.errorWait ?? '1, 5'};
  ipv4 { import all; export none; };
}
`;
}

/** FRR bgpd with one neighbour, weft (connect retry 1 s); `neighbor` adds `neighbor WEFT ...` lines. */
export function frrToWeft(o: { as: number; routerId: string; weft: string; weftAs: number; neighbor?: readonly string[] }): string {
  const extra = (o.neighbor ?? []).map((l) => ` neighbor ${o.weft} ${l}\n`).join('');
  return `frr defaults traditional
hostname frr
router bgp ${o.as}
 bgp router-id ${o.routerId}
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor ${o.weft} remote-as ${o.weftAs}
${extra} neighbor ${o.weft} timers connect 1
`;
}

/** GoBGP's `[global.config]` section. */
export function gobgpGlobal(as: number, routerId: string): string {
  return `
[global.config]
  as = ${as}
  router-id = "${routerId}"
`;
}

/** One GoBGP `[[neighbors]]` entry: hold 9 s, keepalive 3 s, connect retry 1 s, IPv4 (and IPv6) unicast. */
export function gobgpNeighbor(o: { address: string; peerAs: number; localAddress?: string; ipv6?: boolean }): string {
  const transport = o.localAddress === undefined ? '' : `  [neighbors.transport.config]\n    local-address = "${o.localAddress}"\n`;
  const v6 = o.ipv6 ? `  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = "ipv6-unicast"\n` : '';
  return `[[neighbors]]
  [neighbors.config]
    neighbor-address = "${o.address}"
    peer-as = ${o.peerAs}
${transport}  [neighbors.timers.config]
    connect-retry = 1
    hold-time = 9
    keepalive-interval = 3
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
${v6}`;
}

/** `lan` with one IPv4 address per member, each in a /24: `{ weft: '10.0.0.1', bird: '10.0.0.11' }`. */
export function lan24(lab: Lab, members: Record<string, string>): Promise<Record<string, string>> {
  return lan(lab, Object.fromEntries(Object.entries(members).map(([name, a]) => [name, [`${a}/24`]])));
}

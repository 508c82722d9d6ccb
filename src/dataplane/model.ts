/**
 * The data plane's desired state and the pure decisions behind it (DESIGN.md "Data plane: the
 * route shapes"): which shape a remote block takes, the VXLAN device's parameters and MTU, and the
 * VTEP MAC / address scheme that lets every node reach every other node's VXLAN endpoint with
 * nothing signalled.
 *
 * VTEP scheme (chosen here, documented in one place):
 * - VTEP MAC of a node = 02:00 followed by the 4 bytes of its underlay IPv4 address
 *   (10.0.2.11 -> 02:00:0a:00:02:0b). 0x02 in the first octet = locally administered, unicast
 *   (IEEE 802 U/L bit set, I/G bit clear). The map is injective: distinct IPv4 addresses give
 *   distinct MACs, so two nodes never collide. A MAC signalled in BGP (RFC 9012 + the EVPN
 *   Router's MAC extended community) overrides it per node (`NodeRef.mac`).
 * - Next hop of a VXLAN route = the remote node's underlay address, used as the neighbour address
 *   on weft.vxlan (`via 10.0.2.11 dev weft.vxlan onlink`, `neigh 10.0.2.11 lladdr <MAC>`). It is
 *   unique per node by construction, needs no datastore, and one neighbour + one FDB entry serve
 *   all of a node's blocks. The neighbour table is per device, so this does not clash with the
 *   underlay's own neighbour entry for the same address. A signalled `NodeRef.vtepAddress`
 *   overrides it.
 * - Local VTEP address = the network address (.0) of the lowest local IPv4 block, as a /32 on
 *   weft.vxlan (as in LAB-NOTES): it is the source the host uses towards remote pods, and replies
 *   to it come back through the remote node's route for our block. No block -> no address (pods
 *   still work; host-to-pod traffic then leaves with the underlay address as source).
 */
import { createHash } from 'node:crypto';
import { bytesToIpv6, ipv4ToNumber, ipv6ToBytes, isIpv4, numberToIpv4 } from '../lib/address.js';
import { formatPrefix, isV4, parsePrefix, prefixContains, v4Address, v4Length, type Prefix } from '../lib/prefix.js';

export type Encapsulation = 'never' | 'always' | 'crossSubnet';
export type TunnelType = 'vxlan' | 'ipip';
export type RouteShape = 'direct' | 'vxlan' | 'ipip';

export interface NodeRef {
  name: string;
  underlayAddress: string;
  /** A VTEP MAC signalled by the node; default: derived from underlayAddress (vtepMac). */
  mac?: string;
  /** A VTEP address signalled by the node; default: underlayAddress. */
  vtepAddress?: string;
}

export interface RemoteRoute {
  prefix: Prefix;
  node: NodeRef;
  /**
   * ECMP (direct routes only): every equal best path's node, `node` first. Two or more become one
   * kernel multipath route (`nexthop via A dev eth1 nexthop via B dev eth2`).
   */
  nexthops?: readonly NodeRef[];
  shape: RouteShape;
  /** A VXLAN route of an overlay other than the default VNI: that VNI's device carries it. */
  vni?: number;
  /** Why this shape (decideShape's reason): for `weft explain`. */
  reason: string;
}

export interface VxlanDevice {
  device: string;
  /** The underlay family: weft.vxlan runs over IPv4, weft.vxlan6 over IPv6. Both carry both pod families. */
  family: 4 | 6;
  vni: number;
  port: number;
  underlayDevice: string;
  localAddress: string;
  mtu: number;
  mac: string;
  /** The /32 put on the device (localVtepAddress), if any. */
  vtepAddress?: string;
}

export interface IpipDevice {
  device: string;
  mtu: number;
}

export interface DesiredState {
  /** Local blocks: `blackhole P proto weft`. */
  localBlocks: Prefix[];
  routes: RemoteRoute[];
  /** Device for direct routes (`via X dev D`); omitted -> the kernel resolves it. */
  underlayDevice?: string;
  vxlan?: VxlanDevice;
  /** The VXLAN device over the IPv6 underlay (weft.vxlan6), for next hops that are IPv6 addresses. */
  vxlan6?: VxlanDevice;
  /** The devices of the other VNIs (pools with their own `vni`): weft-<vni>, weft6-<vni>. */
  vxlanOther?: VxlanDevice[];
  ipip?: IpipDevice;
}

export const VXLAN_DEVICE = 'weft.vxlan';
export const VXLAN6_DEVICE = 'weft.vxlan6';

/** The device of a VNI other than the default one, per underlay family (at most 14 characters). */
export function vniDeviceName(family: 4 | 6, vni: number): string {
  return `${family === 4 ? 'weft' : 'weft6'}-${vni}`;
}

/** Whether a device name is one of weft's per-VNI VXLAN devices (weft-<vni>, weft6-<vni>). */
export function isVniDevice(name: string): boolean {
  return /^weft6?-\d{1,8}$/.test(name);
}
export const IPIP_DEVICE = 'tunl0';
/** Calico's default VXLAN VNI. */
export const DEFAULT_VNI = 4096;
/** IANA-assigned VXLAN UDP port (RFC 7348 5). */
export const VXLAN_PORT = 4789;
/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) = 50 (RFC 7348 5). */
export const VXLAN_OVERHEAD = 50;
/** The same over an IPv6 underlay: outer IPv6 (40) + UDP + VXLAN + Ethernet = 70. */
export const VXLAN6_OVERHEAD = 70;
/** Outer IPv4 header (RFC 2003 3). */
export const IPIP_OVERHEAD = 20;
/** weft's route protocol number (rtnetlink RTPROT_*, /etc/iproute2/rt_protos.d/weft.conf). */
export const WEFT_PROTO = 249;

export interface ShapeDecision {
  shape: RouteShape;
  reason: string;
}

/**
 * Which shape a route to a peer's block takes. `localUnderlay` is the local node's address WITH
 * its prefix length ("10.0.1.11/24"): it decides "same subnet". A /32 (or /128) has no subnet, so
 * every peer counts as outside it (the Calico pitfall, calico#4254), and the reason says so.
 */
export function decideShape(
  encapsulation: Encapsulation,
  tunnel: TunnelType,
  localUnderlay: string,
  peerUnderlayAddress: string,
): ShapeDecision {
  switch (encapsulation) {
    case 'never':
      return { shape: 'direct', reason: `encapsulation never -> direct via ${peerUnderlayAddress}` };
    case 'always':
      return { shape: tunnel, reason: `encapsulation always -> ${tunnel}` };
    case 'crossSubnet': {
      const local = parsePrefix(localUnderlay, true);
      const full = isV4(local) ? 32 : 128;
      const len = isV4(local) ? v4Length(local) : Number(local.slice(local.indexOf('/') + 1));
      if (len === full) {
        return {
          shape: tunnel,
          reason: `crossSubnet: node address ${localUnderlay} is a /${full}, so no peer counts as same subnet (calico#4254; give the real prefix length) -> ${tunnel}`,
        };
      }
      const peer = parsePrefix(`${peerUnderlayAddress}/${peerUnderlayAddress.includes(':') ? 128 : 32}`);
      const subnet = formatPrefix(local);
      if (prefixContains(local, peer)) {
        return { shape: 'direct', reason: `crossSubnet: ${peerUnderlayAddress} is inside ${subnet} -> direct` };
      }
      return { shape: tunnel, reason: `crossSubnet: ${peerUnderlayAddress} is outside ${subnet} -> ${tunnel}` };
    }
  }
}

/**
 * The VTEP MAC of an underlay address: 02:00 + the 4 bytes of an IPv4 address; for an IPv6 one
 * 06 + the first 5 bytes of the SHA-256 of its 16 bytes (also locally administered unicast, and
 * never equal to an IPv4-derived MAC). 128 bits do not fit in 40: a hash spreads nodes that
 * differ anywhere in their addresses (the last bytes alone gave fd00:77:1::2 and fd00:77:2::2 the
 * same MAC); a MAC signalled in BGP overrides the derived one anyway.
 */
export function vtepMac(underlay: string): string {
  let bytes: number[];
  if (isIpv4(underlay)) {
    const n = ipv4ToNumber(underlay);
    bytes = [0x02, 0x00, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  } else {
    bytes = [0x06, ...createHash('sha256').update(ipv6ToBytes(underlay)).digest().subarray(0, 5)];
  }
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * The IPv6 link-local address of a MAC (modified EUI-64, RFC 4291 2.5.1 / appendix A): the
 * gateway of every VXLAN route that is not IPv4 over weft.vxlan (an IPv6 route cannot have an
 * IPv4 gateway; IPv4 routes over weft.vxlan6 use `via inet6`). A permanent neighbour entry maps it
 * to the MAC, so no neighbour discovery runs over the tunnel.
 */
export function linkLocalOf(mac: string): string {
  const m = mac.split(':').map((x) => parseInt(x, 16));
  const b = new Uint8Array(16);
  b[0] = 0xfe;
  b[1] = 0x80;
  b.set([m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]], 8);
  return bytesToIpv6(b); // RFC 5952 text, as the kernel prints it

}

/** The network address of the lowest local IPv4 block, or undefined when there is none. */
export function localVtepAddress(localBlocks: readonly Prefix[]): string | undefined {
  let best: number | undefined;
  for (const b of localBlocks) if (isV4(b) && (best === undefined || b < best)) best = b;
  return best === undefined ? undefined : numberToIpv4(v4Address(best));
}

/** The underlay family of a node (the family of its underlay address). */
export function underlayFamily(node: NodeRef): 4 | 6 {
  return isIpv4(node.underlayAddress) ? 4 : 6;
}

/**
 * The MAC and neighbour (gateway) address used for a remote node's VTEP, for a route of
 * `prefix`'s family: IPv4 over weft.vxlan goes via the node's underlay address (onlink), every
 * other combination via the link-local address of its MAC.
 */
export function nodeVtep(node: NodeRef, prefix?: Prefix): { mac: string; address: string; onlink: boolean } {
  const mac = (node.mac ?? vtepMac(node.underlayAddress)).toLowerCase();
  const v4 = prefix === undefined || isV4(prefix);
  if (v4 && underlayFamily(node) === 4) return { mac, address: node.vtepAddress ?? node.underlayAddress, onlink: true };
  return { mac, address: linkLocalOf(mac), onlink: false };
}

export interface VxlanOptions {
  /** Device name (default: weft.vxlan / weft.vxlan6 by the local address's family). */
  device?: string;
  underlayDevice: string;
  localAddress: string;
  underlayMtu: number;
  localBlocks?: readonly Prefix[];
  vni?: number;
  port?: number;
  mac?: string;
}

/**
 * A VXLAN device of this node, by the family of its local (underlay) address: weft.vxlan over
 * IPv4 (MTU = underlay - 50), weft.vxlan6 over IPv6 (- 70); MAC derived from the local address.
 */
export function vxlanDevice(o: VxlanOptions): VxlanDevice {
  const v4 = isIpv4(o.localAddress);
  const dev: VxlanDevice = {
    device: o.device ?? (v4 ? VXLAN_DEVICE : VXLAN6_DEVICE),
    family: v4 ? 4 : 6,
    vni: o.vni ?? DEFAULT_VNI,
    port: o.port ?? VXLAN_PORT,
    underlayDevice: o.underlayDevice,
    localAddress: o.localAddress,
    mtu: o.underlayMtu - (v4 ? VXLAN_OVERHEAD : VXLAN6_OVERHEAD),
    mac: (o.mac ?? vtepMac(o.localAddress)).toLowerCase(),
  };
  const vtep = v4 ? localVtepAddress(o.localBlocks ?? []) : undefined;
  if (vtep !== undefined) dev.vtepAddress = vtep;
  return dev;
}

/** The IP-in-IP device: tunl0, MTU = underlay - 20. */
export function ipipDevice(underlayMtu: number): IpipDevice {
  return { device: IPIP_DEVICE, mtu: underlayMtu - IPIP_OVERHEAD };
}

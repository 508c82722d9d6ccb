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
import { ipv4ToNumber, numberToIpv4 } from '../lib/address.js';
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
  shape: RouteShape;
  /** Why this shape (decideShape's reason): for `weft explain`. */
  reason: string;
}

export interface VxlanDevice {
  device: string;
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
  ipip?: IpipDevice;
}

export const VXLAN_DEVICE = 'weft.vxlan';
export const IPIP_DEVICE = 'tunl0';
/** Calico's default VXLAN VNI. */
export const DEFAULT_VNI = 4096;
/** IANA-assigned VXLAN UDP port (RFC 7348 5). */
export const VXLAN_PORT = 4789;
/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) = 50 (RFC 7348 5). */
export const VXLAN_OVERHEAD = 50;
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

/** 02:00 + the 4 bytes of the IPv4 address (see the scheme above). */
export function vtepMac(underlayIpv4: string): string {
  const n = ipv4ToNumber(underlayIpv4);
  const bytes = [0x02, 0x00, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The network address of the lowest local IPv4 block, or undefined when there is none. */
export function localVtepAddress(localBlocks: readonly Prefix[]): string | undefined {
  let best: number | undefined;
  for (const b of localBlocks) if (isV4(b) && (best === undefined || b < best)) best = b;
  return best === undefined ? undefined : numberToIpv4(v4Address(best));
}

/** The MAC and neighbour address used for a remote node's VTEP. */
export function nodeVtep(node: NodeRef): { mac: string; address: string } {
  return { mac: (node.mac ?? vtepMac(node.underlayAddress)).toLowerCase(), address: node.vtepAddress ?? node.underlayAddress };
}

export interface VxlanOptions {
  underlayDevice: string;
  localAddress: string;
  underlayMtu: number;
  localBlocks?: readonly Prefix[];
  vni?: number;
  port?: number;
  mac?: string;
}

/** The VXLAN device of this node: MTU = underlay - 50, MAC derived from the local address. */
export function vxlanDevice(o: VxlanOptions): VxlanDevice {
  const dev: VxlanDevice = {
    device: VXLAN_DEVICE,
    vni: o.vni ?? DEFAULT_VNI,
    port: o.port ?? VXLAN_PORT,
    underlayDevice: o.underlayDevice,
    localAddress: o.localAddress,
    mtu: o.underlayMtu - VXLAN_OVERHEAD,
    mac: (o.mac ?? vtepMac(o.localAddress)).toLowerCase(),
  };
  const vtep = localVtepAddress(o.localBlocks ?? []);
  if (vtep !== undefined) dev.vtepAddress = vtep;
  return dev;
}

/** The IP-in-IP device: tunl0, MTU = underlay - 20. */
export function ipipDevice(underlayMtu: number): IpipDevice {
  return { device: IPIP_DEVICE, mtu: underlayMtu - IPIP_OVERHEAD };
}

// Hand-made VXLAN packets for live tests of host protection (issue 13): an ICMP echo request inside
// an Ethernet frame inside a VXLAN header (RFC 7348 5), sent as UDP from inside a namespace, so a
// test can play a host that is not a mesh member (or spoof a pod) without a VXLAN device of its own.
import { inNs } from './exec.js';

function checksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2) sum += b[b.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const ipv4 = (a: string) => Buffer.from(a.split('.').map(Number));
const mac = (m: string) => Buffer.from(m.split(':').map((x) => parseInt(x, 16)));

/** ICMP id and sequence every crafted echo carries (a pod-side counter matches on them). */
export const CRAFTED_ICMP_ID = 0xbeef;

/** The UDP payload: VXLAN header (I flag, VNI), Ethernet to `dstMac`, IPv4 `src` -> `dst`, ICMP echo. */
export function vxlanEcho(o: { vni: number; dstMac: string; src: string; dst: string }): Buffer {
  const vx = Buffer.from([0x08, 0, 0, 0, (o.vni >> 16) & 0xff, (o.vni >> 8) & 0xff, o.vni & 0xff, 0]);
  const eth = Buffer.concat([mac(o.dstMac), mac('02:00:00:00:be:ef'), Buffer.from([0x08, 0x00])]);
  const icmp = Buffer.alloc(8 + 16);
  icmp[0] = 8; // echo request
  icmp.writeUInt16BE(CRAFTED_ICMP_ID, 4);
  icmp.writeUInt16BE(CRAFTED_ICMP_ID, 6);
  icmp.writeUInt16BE(checksum(icmp), 2);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + icmp.length, 2);
  ip[8] = 64; // TTL
  ip[9] = 1; // ICMP
  ipv4(o.src).copy(ip, 12);
  ipv4(o.dst).copy(ip, 16);
  ip.writeUInt16BE(checksum(ip), 10);
  return Buffer.concat([vx, eth, ip, icmp]);
}

const SEND =
  "const s=require('dgram').createSocket('udp4');const b=Buffer.from(process.argv[1],'hex');let n=Number(process.argv[4]);" +
  "const go=()=>{if(n--<=0){s.close();return;}s.send(b,Number(process.argv[3]),process.argv[2],(e)=>{if(e){console.error(String(e));process.exit(1);}setTimeout(go,20);});};go();";

/** Sends `count` copies of `payload` as UDP to `dst`:`port` from inside `ns`. */
export async function sendUdp(ns: string, dst: string, port: number, payload: Buffer, count = 5): Promise<void> {
  await inNs(ns, 'node', ['-e', SEND, payload.toString('hex'), dst, String(port), String(count)], { timeoutMs: 10_000 });
}

const CONNECT =
  "const s=require('net').connect({host:process.argv[1],port:Number(process.argv[2])});s.setTimeout(Number(process.argv[3]));" +
  "s.on('connect',()=>{console.log('connected');s.destroy();});s.on('timeout',()=>{console.log('timeout');s.destroy();});" +
  "s.on('error',(e)=>console.log(e.code==='ECONNREFUSED'?'refused':String(e.code)));";

/** A TCP connect from inside `ns`: 'connected' (SYN-ACK came), 'refused' (RST) or 'timeout' (nothing within `timeoutMs`). */
export async function tcpConnect(ns: string, dst: string, port: number, timeoutMs = 1000): Promise<string> {
  return (await inNs(ns, 'node', ['-e', CONNECT, dst, String(port), String(timeoutMs)], { timeoutMs: timeoutMs + 10_000 })).stdout.trim();
}

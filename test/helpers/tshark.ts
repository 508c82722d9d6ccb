// Packet capture in a namespace (tcpdump -U, so a stopped capture keeps its last packets) and BGP
// dissection with tshark (-T json), for asserting on what actually went over the wire.
import { statSync } from 'node:fs';
import { run } from './exec.js';
import type { Lab } from './netns.js';
import { DaemonError } from './processes.js';
import { waitFor } from './wait.js';

export interface Capture {
  pcap: string;
  /** Stops tcpdump (SIGINT, so it flushes and closes the file) and returns the pcap path. */
  stop(): Promise<string>;
}

/** Starts capturing on `iface` in `ns`; resolves once tcpdump is listening. `filter` is a pcap filter. */
export async function capture(lab: Lab, ns: string, iface: string, filter = 'tcp port 179'): Promise<Capture> {
  const label = lab.unique(`cap-${ns.slice(lab.prefix.length)}-${iface}-`);
  const pcap = lab.path(`${label}.pcap`);
  // --immediate-mode: otherwise packets wait in the kernel ring (TPACKET_V3 block timeout) and a
  // stopped capture misses them. -Z root: do not drop to user tcpdump, which could not write into the lab's dir.
  // -B 32768 (KiB): the default ring holds only a few packets on lo here and drops bursts.
  const args = ['-U', '--immediate-mode', '-B', '32768', '-n', '-Z', 'root', '-i', iface, '-w', pcap, ...filter.split(/\s+/).filter(Boolean)];
  const proc = lab.spawnIn(ns, 'tcpdump', args, { label });
  await waitFor(
    () => {
      if (!proc.alive()) throw new DaemonError(`tcpdump on ${ns}/${iface} exited`, [proc.logPath]);
      return proc.logTail().includes('listening on');
    },
    { what: `tcpdump listening on ${ns}/${iface}`, timeoutMs: 10_000, intervalMs: 10, diagnose: () => proc.logTail() },
  );
  let stopped: Promise<string> | undefined;
  return {
    pcap,
    stop: () => {
      stopped ??= (async () => {
        proc.signal('SIGINT');
        await waitFor(() => !proc.alive(), { what: `tcpdump on ${ns}/${iface} to exit`, timeoutMs: 5000, intervalMs: 10 }).catch(
          () => proc.stop(0),
        );
        // Once tcpdump has exited the file is complete (on SIGINT it flushes and closes it first).
        if (statSync(pcap, { throwIfNoEntry: false }) === undefined) throw new DaemonError(`capture ${pcap} missing`, [proc.logPath]);
        return pcap;
      })();
      return stopped;
    },
  };
}

/** A tshark -T json packet: `_source.layers` maps protocol names to field trees. */
export interface TsharkPacket {
  _source: { layers: Record<string, unknown> };
}

/**
 * Dissects a pcap as BGP (TCP port 179 decoded as BGP, display filter `bgp` unless given) and returns
 * tshark's JSON packets. Duplicate keys (several BGP messages in one segment) become arrays.
 */
export async function dissect(pcap: string, displayFilter = 'bgp'): Promise<TsharkPacket[]> {
  const args = ['-r', pcap, '-n', '-d', 'tcp.port==179,bgp', '-Y', displayFilter, '-T', 'json', '--no-duplicate-keys'];
  const r = await run('tshark', args, { timeoutMs: 60_000 });
  const text = r.stdout.trim();
  return text === '' ? [] : (JSON.parse(text) as TsharkPacket[]);
}

/** The BGP messages of the packets, in order (one TCP segment may carry several: tshark gives an array). */
export function bgpMessages(packets: readonly TsharkPacket[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const p of packets) {
    const b = p._source.layers.bgp;
    for (const m of Array.isArray(b) ? b : b === undefined ? [] : [b]) {
      if (m !== null && typeof m === 'object') out.push(m as Record<string, unknown>);
    }
  }
  return out;
}

/** Each BGP message's type code (1 OPEN, 2 UPDATE, 3 NOTIFICATION, 4 KEEPALIVE, 5 ROUTE-REFRESH). */
export function bgpMessageTypes(packets: readonly TsharkPacket[]): number[] {
  return bgpMessages(packets).map((m) => Number(m['bgp.type']));
}

// The targets of the ingest benchmark, each started fresh in its namespace, peered with the
// injector over eBGP, and able to say how many of the injector's prefixes are in its RIB:
// weft (`weft agent`, control socket), BIRD 2 (kernel protocol exporting to the main table),
// FRR 8.4 (zebra installs), GoBGP 3.10 (RIB only; GoBGP installs no kernel routes).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlRequest } from '../../../src/agent/control/control-client.js';
import type { AgentStatus } from '../../../src/agent/control/protocol.js';
import { waitFor } from '../../../src/lab/wait.js';
import { httpGetInNs } from '../../../test/helpers/agent.js';
import { startBird } from '../../../test/helpers/bird.js';
import { startFrr } from '../../../test/helpers/frr.js';
import { startGobgp } from '../../../test/helpers/gobgp.js';
import type { Lab } from '../../../test/helpers/netns.js';
import { DaemonError } from '../../../test/helpers/processes.js';
import { INJECTOR_ADDR, INJECTOR_AS, ROUTE_POOL, TARGET_ADDR, TARGET_AS } from './injector.js';

export const TARGET_NAMES = ['weft', 'bird', 'frr', 'gobgp'] as const;
/**
 * Also on request: weft-metrics, weft with metrics.listen on and its /metrics scraped every second
 * from inside its namespace (as Prometheus would), to measure what the metrics cost.
 */
export const ALL_TARGETS = [...TARGET_NAMES, 'weft-metrics'] as const;
export type TargetName = (typeof ALL_TARGETS)[number];

export interface Target {
  name: TargetName;
  /** Processes whose peak RSS is reported (weft: the node process; FRR: bgpd + zebra). */
  rssPids: { pid: number; label: string }[];
  /**
   * Processes whose CPU counts, found again at each sample: the RSS processes and, for weft, its
   * helper processes (the long-lived `ip -batch` / `ip monitor` children that write the kernel).
   */
  cpuPids(): number[];
  /** Injector prefixes in the target's RIB. */
  ribCount(): Promise<number>;
  /** Whether the target installs the routes into the kernel (else kernel is n/a). */
  kernel: boolean;
  /** Why kernel is n/a, when it is. */
  kernelNote?: string;
  alive(): boolean;
  /** Graceful stop (weft writes its --cpu-prof profile on exit); resolves when gone. */
  stop(graceMs: number): Promise<void>;
  logTail(): string;
}

export interface TargetOptions {
  /** weft's CLI entry point (default dist/cli/main.js). */
  weftMain: string;
  /** Extra node arguments for weft (e.g. --cpu-prof --cpu-prof-dir DIR). */
  nodeArgs: string[];
  startTimeoutMs: number;
}

export const DEFAULT_WEFT_MAIN = fileURLToPath(new URL('../../../dist/cli/main.js', import.meta.url));

const METRICS = '127.0.0.1:9179';

async function startWeft(lab: Lab, ns: string, o: TargetOptions, metrics = false): Promise<Target> {
  if (!existsSync(o.weftMain)) throw new Error(`${o.weftMain} missing: run npm run build (or pass --weft-main)`);
  const socket = lab.path('weft.sock');
  const conf = lab.path('weft.yaml');
  const config = {
    node: { name: 'target', asn: TARGET_AS, routerId: TARGET_ADDR, address: `${TARGET_ADDR}/24` },
    listen: { address: TARGET_ADDR, port: 179 },
    peers: [{ name: 'injector', address: INJECTOR_ADDR, asn: INJECTOR_AS, holdTime: 90, connectRetry: 1 }],
    // The injector's prefixes lie in this pool, so the external peer's import guard accepts them;
    // encapsulation never: plain routes via the injector, no tunnel device.
    pools: [{ cidr: ROUTE_POOL, blockSize: 24, encapsulation: 'never' }],
    control: { socket },
    dataplane: { enabled: true },
    ...(metrics ? { metrics: { listen: METRICS } } : {}),
  };
  writeFileSync(conf, JSON.stringify(config));
  const proc = lab.spawnIn(ns, 'node', [...o.nodeArgs, o.weftMain, 'agent', '-c', conf], { label: 'weft' });
  const status = async (): Promise<AgentStatus> => {
    if (!proc.alive()) throw new DaemonError('weft agent died', [proc.logPath]);
    const r = await controlRequest(socket, { op: 'status' }, 10_000);
    if (!r.ok) throw new Error(`weft status: ${r.error}`);
    return r.status;
  };
  await waitFor(status, { what: `weft agent answering on ${socket}`, timeoutMs: o.startTimeoutMs, intervalMs: 50, diagnose: () => proc.logTail() });
  // A scraper in the namespace, every second for the whole run (the Lab stops it by PID).
  const scrape = `setInterval(() => fetch('http://${METRICS}/metrics').then((r) => r.text()).catch(() => undefined), 1000)`;
  if (metrics) {
    // The measurement starts with metrics up (prom-client loaded: ~90 ms of CPU once), as in steady operation.
    await waitFor(async () => (await httpGetInNs(ns, `http://${METRICS}/metrics`)).status === 200, { what: 'weft /metrics', timeoutMs: o.startTimeoutMs, intervalMs: 100 });
    lab.spawnIn(ns, 'node', ['-e', scrape], { label: 'scraper' });
  }
  return {
    name: metrics ? 'weft-metrics' : 'weft',
    rssPids: [{ pid: proc.pid, label: 'node' }],
    cpuPids: () => [proc.pid],
    async ribCount() {
      const s = await status();
      return s.peers.find((p) => p.address === INJECTOR_ADDR)?.accepted ?? 0;
    },
    kernel: true,
    alive: () => proc.alive(),
    stop: (graceMs) => proc.stop(graceMs),
    logTail: () => proc.logTail(),
  };
}

async function startBirdTarget(lab: Lab, ns: string, o: TargetOptions): Promise<Target> {
  const config = [
    'protocol device {}',
    'protocol kernel { ipv4 { import none; export all; }; }',
    'protocol bgp injector {',
    `  local ${TARGET_ADDR} as ${TARGET_AS};`,
    `  neighbor ${INJECTOR_ADDR} as ${INJECTOR_AS};`,
    '  ipv4 { import all; export none; };',
    '}',
  ].join('\n');
  const bird = await startBird(lab, ns, { routerId: TARGET_ADDR, config, startTimeoutMs: o.startTimeoutMs });
  return {
    name: 'bird',
    rssPids: [{ pid: bird.pid, label: 'bird' }],
    cpuPids: () => [bird.pid],
    ribCount: () => bird.routeCount('master4'),
    kernel: true,
    alive: () => bird.alive(),
    stop: () => bird.stop(),
    logTail: () => bird.logTail(),
  };
}

interface FrrSummary {
  peers?: Record<string, { pfxRcd?: number }>;
  ipv4Unicast?: { peers?: Record<string, { pfxRcd?: number }> };
}

async function startFrrTarget(lab: Lab, ns: string, o: TargetOptions): Promise<Target> {
  const bgpdConf = [
    'frr defaults traditional',
    'hostname target',
    `router bgp ${TARGET_AS}`,
    ` bgp router-id ${TARGET_ADDR}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp network import-check',
    ` neighbor ${INJECTOR_ADDR} remote-as ${INJECTOR_AS}`,
    ' address-family ipv4 unicast',
    `  neighbor ${INJECTOR_ADDR} activate`,
    ' exit-address-family',
    '',
  ].join('\n');
  const frr = await startFrr(lab, ns, { bgpdConf, startTimeoutMs: o.startTimeoutMs });
  const [zebra, bgpd] = frr.pids;
  return {
    name: 'frr',
    rssPids: [
      { pid: bgpd!, label: 'bgpd' },
      { pid: zebra!, label: 'zebra' },
    ],
    cpuPids: () => frr.pids,
    async ribCount() {
      const j = await frr.vtyshJson<FrrSummary>('show bgp ipv4 unicast summary json');
      const peers = j.peers ?? j.ipv4Unicast?.peers ?? {};
      return peers[INJECTOR_ADDR]?.pfxRcd ?? 0;
    },
    kernel: true,
    alive: () => frr.alive(),
    stop: () => frr.stop(),
    logTail: () => frr.logTail(),
  };
}

async function startGobgpTarget(lab: Lab, ns: string, o: TargetOptions): Promise<Target> {
  const toml = [
    '[global.config]',
    `  as = ${TARGET_AS}`,
    `  router-id = "${TARGET_ADDR}"`,
    '[[neighbors]]',
    '  [neighbors.config]',
    `    neighbor-address = "${INJECTOR_ADDR}"`,
    `    peer-as = ${INJECTOR_AS}`,
    '',
  ].join('\n');
  const g = await startGobgp(lab, ns, { toml, logLevel: 'warn', startTimeoutMs: o.startTimeoutMs });
  return {
    name: 'gobgp',
    rssPids: [{ pid: g.pid, label: 'gobgpd' }],
    cpuPids: () => [g.pid],
    ribCount: () => g.ribCount('ipv4'),
    kernel: false,
    kernelNote: 'GoBGP installs no kernel routes',
    alive: () => g.alive(),
    stop: () => g.stop(),
    logTail: () => g.logTail(),
  };
}

export function startTarget(name: TargetName, lab: Lab, ns: string, o: TargetOptions): Promise<Target> {
  switch (name) {
    case 'weft':
      return startWeft(lab, ns, o);
    case 'weft-metrics':
      return startWeft(lab, ns, o, true);
    case 'bird':
      return startBirdTarget(lab, ns, o);
    case 'frr':
      return startFrrTarget(lab, ns, o);
    case 'gobgp':
      return startGobgpTarget(lab, ns, o);
  }
}

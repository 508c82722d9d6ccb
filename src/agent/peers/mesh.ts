/**
 * Who to peer with: the full iBGP mesh of weft nodes (every node but this one), the external
 * peers, and the diff between two such sets (so a reload or a nodes-file change opens and closes
 * only the sessions that changed). Also the watcher of the mesh nodes file.
 */
import { watch, statSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import { bytesToIpv6, ipv4ToNumber, ipv6ToBytes, isIpv4, numberToIpv4 } from '../../lib/address.js';
import { shouldDial } from '../../session/collision.js';
import type { AgentConfig, MeshNode } from '../config/agent-config.js';
import type { BfdSetting } from '../config/bfd-config.js';
import { ConfigError } from '../config/config-error.js';
import { isSelf, toPolicyRules, underlayAddresses } from '../config/config-helpers.js';
import { loadNodesFile } from '../config/config-load.js';
import { logEvent } from '../observability/log-events.js';
import type { PolicyRule } from '../../rib/policy.js';
import { resolveGracefulRestart, type GracefulRestartSettings } from '../config/graceful-restart-settings.js';

export type PeerKind = 'mesh' | 'external' | 'reflector-client';

/** Everything that defines one session; two equal specs (specKey) need no session reset. */
export interface PeerSpec {
  /** The stable id: the node name for mesh peers, the name (or address) for external ones. */
  id: string;
  kind: PeerKind;
  address: string;
  port: number;
  /** The AS we expect; 'internal' for the mesh. */
  asn: number | 'internal' | 'external';
  holdTime: number;
  keepalive: number | undefined;
  connectRetry: number;
  passive: boolean;
  /**
   * A passive mesh session dials once when it starts (session/types.ts dialOnStart), so the
   * node that dials us, backed off while we were down, hears at once that we are up.
   */
  dialOnStart?: boolean;
  localAddress: string | undefined;
  importRules: PolicyRule[];
  exportRules: PolicyRule[];
  maxPrefix: { limit: number; restartAfter: number } | undefined;
  /** RFC 4724 / RFC 8538 settings of this session (graceful-restart-config.ts). */
  gracefulRestart: GracefulRestartSettings;
  /** A BFD session follows this one (RFC 5882); absent: none. */
  bfd?: BfdSetting;
  /** TCP MD5 key (RFC 2385); never logged or shown. */
  password: string | undefined;
}

export function specKey(s: PeerSpec): string {
  return JSON.stringify(s);
}

/**
 * The part of a spec the session itself depends on: everything but the import policy (rules and
 * max-prefix). Two specs that differ only there keep the session; the held routes are examined
 * again instead (RFC 2918 1).
 */
export function sessionKey(s: PeerSpec): string {
  return JSON.stringify({ ...s, importRules: undefined, maxPrefix: undefined });
}

/**
 * The mesh peers for a node list: every node but ourselves (matched by name or address) is an
 * iBGP peer. RFC 4271 has both sides dial; the mesh uses calico-node's rule instead (session/
 * collision.ts shouldDial): of two nodes, the one whose address TEXT sorts higher dials and the
 * other listens (10.0.0.9 dials 10.0.0.10), so a pair seldom races and a weft host can take the
 * place of one node in a running Calico BIRD mesh. The listening side still dials once when its
 * session starts (dialOnStart): the dialer's refused dials back off while this node was down, and
 * this dial reaches it at once (a Calico BIRD node accepts it also with `passive on`; a dial that
 * crosses the peer's is resolved by RFC 4271 6.8). Both addresses are compared in their canonical
 * text (dotted quad, RFC 5952), the form Calico's datastore holds, whatever the config wrote
 * ("010.0.0.9", "FD00::A").
 * A node listed twice (config and nodes file) counts once: the first entry wins.
 */
export function meshSpecs(cfg: AgentConfig, nodes: readonly MeshNode[]): PeerSpec[] {
  if (!cfg.mesh.enabled) return [];
  const out: PeerSpec[] = [];
  const seen = new Set<string>();
  // The local address of a node's session: ours of its family (node.address, or address4 /
  // address6 for a node listed by an address of the other family).
  const under = underlayAddresses(cfg);
  const localFor = (a: string) => (a.includes(':') ? under.v6 : under.v4)?.address;
  for (const n of nodes) {
    if (isSelf(cfg, n) || seen.has(n.address) || seen.has(`name:${n.name}`)) continue;
    seen.add(n.address);
    seen.add(`name:${n.name}`);
    out.push({
      id: n.name,
      // A registry member may be a route-reflector client of this node (membership/records.ts membersFor).
      kind: (n as { reflectorClient?: boolean }).reflectorClient ? 'reflector-client' : 'mesh',
      address: n.address,
      port: n.port ?? cfg.listen.port,
      asn: 'internal',
      holdTime: cfg.timers.holdTime,
      keepalive: cfg.timers.keepalive,
      connectRetry: cfg.timers.connectRetry,
      passive: !shouldDial(canonicalText(localFor(n.address) ?? cfg.node.address.address), canonicalText(n.address)),
      dialOnStart: true,
      localAddress: localFor(n.address),
      importRules: [],
      exportRules: [],
      maxPrefix: undefined,
      gracefulRestart: resolveGracefulRestart(cfg.gracefulRestart, cfg.mesh.gracefulRestart),
      ...(cfg.mesh.bfd ? { bfd: cfg.mesh.bfd } : {}),
      password: cfg.mesh.password,
    });
  }
  return out;
}

/** An address in its canonical text: dotted quad without leading zeros, or RFC 5952 IPv6. */
export function canonicalText(a: string): string {
  return isIpv4(a) ? numberToIpv4(ipv4ToNumber(a)) : bytesToIpv6(ipv6ToBytes(a));
}

export function externalSpecs(cfg: AgentConfig): PeerSpec[] {
  return cfg.peers.map((p) => ({
    id: p.name ?? p.address,
    kind: p.routeReflectorClient ? ('reflector-client' as const) : ('external' as const),
    address: p.address,
    port: p.port,
    asn: p.asn,
    holdTime: p.holdTime,
    keepalive: p.keepalive,
    connectRetry: p.connectRetry ?? cfg.timers.connectRetry,
    passive: p.passive,
    localAddress: p.localAddress,
    importRules: toPolicyRules(p.import),
    exportRules: toPolicyRules(p.export),
    maxPrefix: p.maxPrefix,
    gracefulRestart: resolveGracefulRestart(cfg.gracefulRestart, p.gracefulRestart),
    ...(p.bfd ? { bfd: p.bfd } : {}),
    password: p.password,
  }));
}

/**
 * All peers: external peers first (an external peer with the address of a mesh node wins, the
 * node is skipped), then the mesh. Ids are made unique by suffixing the address.
 */
export function desiredPeers(cfg: AgentConfig, fileNodes: readonly MeshNode[]): PeerSpec[] {
  const ext = externalSpecs(cfg);
  const taken = new Set(ext.map((s) => s.address));
  const mesh = meshSpecs(cfg, [...cfg.mesh.nodes, ...fileNodes]).filter((s) => !taken.has(s.address));
  const ids = new Set<string>();
  const all = [...ext, ...mesh];
  for (const s of all) {
    if (ids.has(s.id)) s.id = `${s.id}@${s.address}`;
    ids.add(s.id);
  }
  return all;
}

export interface PeerDiff {
  add: PeerSpec[];
  remove: PeerSpec[];
  /** Same address, different settings: the session is closed and opened again. */
  change: { from: PeerSpec; to: PeerSpec }[];
  unchanged: PeerSpec[];
}

/** Peers are matched by address (what the listener matches connections on). */
export function diffPeers(current: readonly PeerSpec[], desired: readonly PeerSpec[]): PeerDiff {
  const cur = new Map(current.map((s) => [s.address, s]));
  const d: PeerDiff = { add: [], remove: [], change: [], unchanged: [] };
  const want = new Set<string>();
  for (const s of desired) {
    want.add(s.address);
    const c = cur.get(s.address);
    if (c === undefined) d.add.push(s);
    else if (specKey(c) === specKey(s)) d.unchanged.push(c);
    else d.change.push({ from: c, to: s });
  }
  for (const c of current) if (!want.has(c.address)) d.remove.push(c);
  return d;
}

/**
 * Watches the mesh nodes file: fs.watch on its directory (editors and config management replace
 * the file by rename, which a watch on the file itself would miss) plus a periodic stat, since
 * file-change events are not delivered everywhere (network filesystems, some container mounts).
 * Calls `onNodes` with the new list when the file's content changed and parses; a broken file is
 * logged and the last good list stays.
 */
export class NodesFileWatcher {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stamp = '';
  private debounce: NodeJS.Timeout | undefined;
  nodes: MeshNode[] = [];

  constructor(
    readonly file: string,
    private readonly pollSeconds: number,
    private readonly log: Logger,
    private readonly onNodes: (nodes: MeshNode[]) => void,
  ) {}

  /** Reads the file once (throws ConfigError when it is broken) and starts watching. */
  start(): MeshNode[] {
    this.stamp = this.statStamp();
    this.nodes = loadNodesFile(this.file);
    try {
      this.watcher = watch(dirname(this.file), (_ev, name) => {
        if (name === null || name === basename(this.file)) this.soon();
      });
      this.watcher.on('error', () => undefined);
    } catch {
      // No inotify: the periodic stat still works.
    }
    this.timer = setInterval(() => this.check(), this.pollSeconds * 1000);
    this.timer.unref();
    return this.nodes;
  }

  private soon(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.check(), 50);
  }

  private statStamp(): string {
    try {
      const st = statSync(this.file);
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return 'missing';
    }
  }

  /** Re-reads the file if it changed since the last look. */
  check(force = false): void {
    const stamp = this.statStamp();
    if (!force && stamp === this.stamp) return;
    this.stamp = stamp;
    let nodes: MeshNode[];
    try {
      nodes = loadNodesFile(this.file);
    } catch (e) {
      logEvent(this.log, 'agent.nodes-file-error', { file: this.file, error: e instanceof ConfigError ? e.problems : (e as Error).message });
      return;
    }
    if (JSON.stringify(nodes) === JSON.stringify(this.nodes)) return;
    this.nodes = nodes;
    logEvent(this.log, 'agent.nodes-file', { file: this.file, nodes: nodes.length });
    this.onNodes(nodes);
  }

  stop(): void {
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
  }
}

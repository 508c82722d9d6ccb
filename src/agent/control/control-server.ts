/**
 * The control API: a unix socket (mode 0600) speaking newline-delimited JSON. Each request line
 * gets one reply line, in order:
 *
 *   {"op":"status"}                          -> {"ok":true,"status":{...}}
 *   {"op":"routes"}                          -> {"ok":true,"routes":[...]}
 *   {"op":"advertise","prefix":"10.244.3.0/26"} -> {"ok":true,"changed":true}
 *   {"op":"withdraw","prefix":"10.244.3.0/26"}  -> {"ok":true,"changed":true}
 *   {"op":"reload"}                          -> {"ok":true,"reload":{...}}
 *   {"op":"explain","address":"10.244.7.9"}  -> {"ok":true,"explain":{...}} (dataplane-bridge.ts)
 *   anything wrong                           -> {"ok":false,"error":"what was wrong"}
 *
 * A bad request never takes the agent down: every failure becomes an error reply.
 */
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { formatPrefix } from '../../lib/prefix.js';
import type { Agent, PeerEntry } from '../agent.js';
import type { DataplaneStatus } from '../kernel/dataplane-bridge.js';
import { logEvent } from '../observability/log-events.js';
import type { PeerKind } from '../peers/mesh.js';

export type ControlRequest =
  | { op: 'status' }
  | { op: 'routes' }
  | { op: 'advertise'; prefix: string }
  | { op: 'withdraw'; prefix: string }
  | { op: 'reload' }
  | { op: 'explain'; address: string };

export type ControlReply = ({ ok: true } & Record<string, unknown>) | { ok: false; error: string };

export const CONTROL_OPS = ['status', 'routes', 'advertise', 'withdraw', 'reload', 'explain'] as const;

/** What the server calls; a thrown Error becomes {"ok":false,"error":message}. */
export type ControlHandler = (req: ControlRequest) => Promise<Record<string, unknown>> | Record<string, unknown>;

/** The longest request line accepted (a request is a few dozen bytes). */
const MAX_LINE = 64 * 1024;

/** Checks the shape of a parsed request; returns it typed, or the problem. */
export function checkRequest(v: unknown): ControlRequest | string {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'a request must be a JSON object with an "op" field';
  const o = v as Record<string, unknown>;
  if (typeof o.op !== 'string') return `missing "op" (one of ${CONTROL_OPS.join(', ')})`;
  switch (o.op) {
    case 'status':
    case 'routes':
    case 'reload':
      return { op: o.op };
    case 'advertise':
    case 'withdraw':
      if (typeof o.prefix !== 'string') return `"${o.op}" needs a "prefix" string, like "10.244.3.0/26"`;
      return { op: o.op, prefix: o.prefix };
    case 'explain':
      if (typeof o.address !== 'string') return '"explain" needs an "address" string, like "10.244.7.9"';
      return { op: 'explain', address: o.address };
    default:
      return `unknown op ${JSON.stringify(o.op)} (one of ${CONTROL_OPS.join(', ')})`;
  }
}

/** Whether some process answers on the socket path (a running agent). */
export function socketAnswers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (v: boolean) => {
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export class ControlServer {
  private server: Server | undefined;
  private readonly clients = new Set<Socket>();

  constructor(
    readonly path: string,
    private readonly handler: ControlHandler,
    private readonly log: Logger,
  ) {}

  /** Refuses to start when another agent answers on the path; removes a stale socket file. */
  async start(): Promise<void> {
    if (existsSync(this.path)) {
      if (await socketAnswers(this.path)) throw new Error(`another agent is answering on the control socket ${this.path}`);
      unlinkSync(this.path);
    }
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o755 });
    const server = createServer((sock) => this.onClient(sock));
    this.server = server;
    // The socket is created with the umask applied; tighten it so it is never world-usable.
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(old);
    }
    chmodSync(this.path, 0o600);
    logEvent(this.log, 'control.listening', { socket: this.path });
  }

  private onClient(sock: Socket): void {
    this.clients.add(sock);
    sock.setEncoding('utf8');
    let buf = '';
    let chain = Promise.resolve();
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_LINE && !buf.includes('\n')) {
        this.refuse(sock, `request longer than ${MAX_LINE} bytes`);
        sock.end();
        buf = '';
        return;
      }
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line === '') continue;
        // One at a time per client, so replies come back in request order.
        chain = chain.then(() => this.handle(sock, line));
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => this.clients.delete(sock));
  }

  private async handle(sock: Socket, line: string): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (e) {
      this.refuse(sock, `bad JSON: ${(e as Error).message}`);
      return;
    }
    const req = checkRequest(parsed);
    if (typeof req === 'string') {
      this.refuse(sock, req);
      return;
    }
    try {
      const result = await this.handler(req);
      this.reply(sock, { ok: true, ...result });
    } catch (e) {
      this.refuse(sock, e instanceof Error ? e.message : String(e));
    }
  }

  private refuse(sock: Socket, error: string): void {
    logEvent(this.log, 'control.bad-request', { error });
    this.reply(sock, { ok: false, error });
  }

  private reply(sock: Socket, r: ControlReply): void {
    if (sock.destroyed || !sock.writable) return;
    sock.write(`${JSON.stringify(r)}\n`);
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    for (const c of this.clients) c.destroy();
    await new Promise<void>((r) => s.close(() => r()));
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

// ------------------------------------------------------------------ the replies' shapes

/** One row of `weft status`: like `birdc show protocols` with the prefix counts. */
export interface PeerStatusView {
  id: string;
  address: string;
  /** The configured AS (or 'internal'), the negotiated one once known. */
  asn: number | string;
  kind: PeerKind;
  state: string;
  /** Wall-clock time of the last state change. */
  since: string;
  passive: boolean;
  establishedTransitions: number;
  received: number;
  accepted: number;
  advertised: number;
  refused: Record<string, number>;
  updatesIn: number;
  updatesOut: number;
  lastError: string | undefined;
  /** When lastError happened (ISO time); set whenever lastError is. */
  lastErrorAt: string | undefined;
}

export interface AgentStatus {
  node: { name: string; asn: number; routerId: string; address: string };
  uptimeSeconds: number;
  listen: { address: string; port: number | undefined };
  routeReflector: boolean;
  refusedConnections: number;
  rib: { prefixes: number; local: number };
  /** The agent process's memory now, MiB (process.memoryUsage()). */
  memory: { rssMiB: number; heapUsedMiB: number; heapTotalMiB: number; externalMiB: number };
  blocks: string[];
  peers: PeerStatusView[];
  /** The kernel data plane (absent when dataplane.enabled is false). */
  dataplane?: DataplaneStatus;
}

export interface RouteView {
  prefix: string;
  source: 'local' | 'peer';
  peer: string;
  peerAddress: string;
  nextHop: string;
  asPath: string;
  origin: string;
  localPref: number | undefined;
  med: number | undefined;
  communities: string[];
  originatorId: string | undefined;
  clusterList: string[];
  /** Why this path is the best ('only path' when alone). */
  reason: string;
  /** Candidate paths for the prefix (1 = no competition). */
  candidates: number;
  /** Data plane (when enabled): direct | vxlan | ipip | blackhole | local | none. */
  shape?: string;
  /** Why that shape (decideShape's reason, or why nothing is written). */
  why?: string;
  /** The kernel has the route in that shape now. */
  installed?: boolean;
}

export function peerStatus(agent: Agent, e: PeerEntry): PeerStatusView {
  const id = e.spec.id;
  const inRib = e.info !== undefined;
  return {
    id,
    address: e.spec.address,
    asn: e.info?.asn ?? e.spec.asn,
    kind: e.spec.kind,
    state: e.peer.state.name,
    since: e.since,
    passive: e.spec.passive,
    establishedTransitions: e.peer.counters.establishedTransitions,
    received: e.received,
    accepted: inRib ? agent.rib.count(id).total : 0,
    advertised: inRib ? agent.ribOut.sentTo(id).size : 0,
    refused: inRib ? ({ ...agent.rib.refusals(id), ...e.inputRefused } as Record<string, number>) : {},
    updatesIn: e.peer.counters.updatesIn,
    updatesOut: e.peer.counters.updatesOut,
    ...lastError(e),
  };
}

/** The agent's own last error (max-prefix, a session that went down), else the session's. */
function lastError(e: PeerEntry): Pick<PeerStatusView, 'lastError' | 'lastErrorAt'> {
  if (e.lastError !== undefined) return { lastError: e.lastError, lastErrorAt: e.lastErrorAt };
  const se = e.peer.state.lastError;
  if (!se) return { lastError: undefined, lastErrorAt: undefined };
  return { lastError: se.message, lastErrorAt: new Date(e.peer.wallTime(se.at)).toISOString() };
}

const ORIGINS = ['igp', 'egp', 'incomplete'];
const communityText = (c: number) => `${Math.floor(c / 65536)}:${c % 65536}`;

/** The Loc-RIB: each prefix with its best path and why it won. */
export function routeViews(agent: Agent): RouteView[] {
  const out: RouteView[] = [];
  for (const { prefix, best } of agent.rib.entries()) {
    const ranked = agent.rib.paths(prefix);
    const a = best.attrs;
    out.push({
      prefix: formatPrefix(prefix),
      source: best.source,
      peer: best.peer.id,
      peerAddress: best.source === 'local' ? '' : best.peer.address,
      nextHop: a.nextHop,
      asPath: a.asPath.map((s) => (s.kind === 'sequence' ? s.asns.join(' ') : `{${s.asns.join(',')}}`)).join(' '),
      origin: ORIGINS[a.origin] ?? String(a.origin),
      localPref: a.localPref,
      med: a.med,
      communities: a.communities.map(communityText),
      originatorId: a.originatorId,
      clusterList: [...a.clusterList],
      reason: best.source === 'local' && ranked.length <= 1 ? 'local block' : (ranked.find((r) => r.rank === 'best')?.reason ?? 'only path'),
      candidates: ranked.length,
    });
  }
  return out.sort((x, y) => (x.prefix < y.prefix ? -1 : x.prefix > y.prefix ? 1 : 0));
}

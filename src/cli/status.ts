/**
 * `weft status`: the agent's peers, one row each, like `birdc show protocols`. Also the shared
 * helper the other control commands use to talk to the agent.
 */
import { Command } from 'commander';
import { DEFAULT_CONTROL_SOCKET } from '../agent/config/config-helpers.js';
import { ControlUnreachable, controlRequest } from '../agent/control/control-client.js';
import type { AgentStatus, ControlOp, ControlResult, PeerStatusView, RequestOf } from '../agent/control/protocol.js';
import { CliError, ExitStatus, formatTable, toJson, type CommandContext } from './output.js';
import { jsonUsageErrors, runJsonAware, withExitHelp } from './exit-help.js';
import { addWatchOptions, runWatch, watchPlan, type Frame, type WatchOptions } from './watch.js';

export const SOCKET_HELP = `the agent's control socket (default $WEFT_SOCKET or ${DEFAULT_CONTROL_SOCKET})`;

export function socketPath(given: string | undefined): string {
  return given ?? process.env.WEFT_SOCKET ?? DEFAULT_CONTROL_SOCKET;
}

/**
 * One request to the agent. An agent that cannot be reached is exit status 1 (code
 * "unreachable"): for a monitoring script a stopped agent is an unhealthy node, not a mistake in
 * the command line. An error reply is 1 too (code "agent-error").
 */
export async function askAgent<Op extends ControlOp>(socket: string | undefined, req: RequestOf<Op>): Promise<ControlResult<Op>> {
  const path = socketPath(socket);
  let reply;
  try {
    reply = await controlRequest<Op>(path, req);
  } catch (e) {
    if (e instanceof ControlUnreachable) throw new CliError(e.message, ExitStatus.UNHEALTHY, 'unreachable');
    throw e;
  }
  if (!reply.ok) throw new CliError(`the agent refused: ${reply.error}`, ExitStatus.UNHEALTHY, 'agent-error');
  return reply;
}

function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

/** A failed TCP connection (a dial refused, a connection lost before an OPEN), not a BGP error. */
const TCP_FAILURE = /^TCP connection failed\b/;

/**
 * The LAST ERROR cell: the error and how long ago it was, e.g. "HoldTimer expired (3m ago)". An
 * Established peer does not show a TCP failure from before the session came up (typically the
 * first dial, made before the other side listened): it is history, kept with its time in --json.
 */
export function lastErrorCell(p: Pick<PeerStatusView, 'state' | 'since' | 'lastError' | 'lastErrorAt'>, now = Date.now()): string {
  if (p.lastError === undefined) return '';
  const at = p.lastErrorAt === undefined ? Number.NaN : Date.parse(p.lastErrorAt);
  if (p.state === 'Established' && TCP_FAILURE.test(p.lastError) && !(at > Date.parse(p.since))) return '';
  return Number.isNaN(at) ? p.lastError : `${p.lastError} (${ago(p.lastErrorAt!, now)} ago)`;
}

const KIND_NAMES: Record<string, string> = { mesh: 'mesh', external: 'external', 'reflector-client': 'rr-client' };

/** The TYPE column of weft status and weft neighbor: mesh, external, rr-client. */
export function peerType(kind: string): string {
  return KIND_NAMES[kind] ?? kind;
}

/** The data-plane lines of `weft status`: underlay, the MTU containers must use, routes by shape. */
export function formatDataplane(st: AgentStatus): string {
  const d = st.dataplane;
  if (!d) return 'data plane: off (dataplane.enabled: false)\n';
  const shapes = Object.entries(d.routes)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  return (
    `data plane: underlay ${d.underlayDevice} MTU ${d.underlayMtu}; containers must use MTU ${d.podMtu} (${d.podMtuReason})\n` +
    `kernel routes: ${shapes}${d.held ? `; ${d.held} held from before the restart` : ''}; batches ${d.batches}, failed lines ${d.lineErrors}` +
    `${d.problems.length ? `; ${d.problems.length} not written (${d.problems[0]}${d.problems.length > 1 ? ', ...' : ''})` : ''}` +
    `${d.lastError ? `; last error: ${d.lastError}` : ''}\n`
  );
}

/** The host protection line of `weft status`: table, set sizes, drops, last check and error. */
export function formatHostProtection(st: AgentStatus): string {
  const h = st.hostProtection;
  if (!h) return '';
  if (!h.enabled) return 'host protection: off (hostProtection.enabled: false)\n';
  const sets = Object.entries(h.sets).map(([k, n]) => `${k} ${n}`).join(', ');
  const drops = Object.entries(h.dropped).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(', ');
  return (
    `host protection: table ${h.table}; sets: ${sets || '(not written yet)'}; dropped: ${drops || 'none'}; ` +
    `writes ${h.writes}, repairs ${h.repairs}${h.lastReconcile ? `; checked ${ago(h.lastReconcile)} ago` : ''}` +
    `${h.lastError ? `; last error: ${h.lastError}` : ''}\n`
  );
}

export function formatStatus(st: AgentStatus): string {
  const head =
    `node ${st.node.name}  AS ${st.node.asn}  router id ${st.node.routerId}  address ${st.node.address}` +
    `${st.node.address4 ? ` ${st.node.address4}` : ''}${st.node.address6 ? ` ${st.node.address6}` : ''}` +
    `${st.routeReflector ? '  route reflector' : ''}  up ${st.uptimeSeconds}s\n` +
    `Loc-RIB ${st.rib.prefixes} prefixes (${st.rib.local} local)  blocks: ${st.blocks.join(' ') || '(none)'}\n` +
    (st.memory ? `memory: RSS ${st.memory.rssMiB} MiB, JS heap ${st.memory.heapUsedMiB} of ${st.memory.heapTotalMiB} MiB\n` : '') +
    formatDataplane(st) +
    formatHostProtection(st) +
    '\n';
  if (st.peers.length === 0) return `${head}no peers configured\n`;
  const table = formatTable<PeerStatusView>(st.peers, [
    { header: 'PEER', value: (p) => p.id },
    { header: 'ADDRESS', value: (p) => p.address },
    { header: 'AS', value: (p) => p.asn, right: true },
    { header: 'TYPE', value: (p) => peerType(p.kind) },
    { header: 'STATE', value: (p) => p.state },
    // The negotiated address families (RFC 4760) while Established: "v4 v6".
    { header: 'FAMILIES', value: (p) => familiesCell(p) },
    // Only when some peer has BFD: the BFD session state and its detection time (RFC 5880).
    ...(st.peers.some((p) => p.bfd) ? [{ header: 'BFD', value: (p: PeerStatusView) => bfdCell(p) }] : []),
    // Only when some peer has a TCP MD5 password (never the password itself).
    ...(st.peers.some((p) => p.md5) ? [{ header: 'MD5', value: (p: PeerStatusView) => (p.md5 ? 'yes' : '-') }] : []),
    // Only while graceful restart is at work for some peer (RFC 4724): stale routes kept, a table deferred.
    ...(st.peers.some((p) => grCell(p) !== '-') ? [{ header: 'GRACEFUL RESTART', value: (p: PeerStatusView) => grCell(p) }] : []),
    { header: 'SINCE', value: (p) => ago(p.since), right: true },
    { header: 'RCVD', value: (p) => p.received, right: true },
    { header: 'ACCEPTED', value: (p) => p.accepted, right: true },
    { header: 'ADVERTISED', value: (p) => p.advertised, right: true },
    { header: 'LAST ERROR', value: (p) => lastErrorCell(p) },
  ]);
  const dropped = Object.entries(st.bfdDropped ?? {}).filter(([, n]) => n > 0);
  const bfdLine = dropped.length ? `BFD packets dropped: ${dropped.map(([k, n]) => `${n} ${k}`).join(', ')}\n` : '';
  const md5Lines = st.peers.flatMap((p) => (p.md5Diagnosis ? [`${p.id}: ${p.md5Diagnosis}\n`] : [])).join('');
  return head + table + bfdLine + md5Lines + notNegotiatedLines(st.peers);
}

/** "v4 v6" for ipv4-unicast and ipv6-unicast; '-' while not Established. */
export function familiesCell(p: Pick<PeerStatusView, 'families'>): string {
  if (!p.families) return '-';
  return p.families.map((f) => f.replace(/^ipv(\d)-unicast$/, 'v$1')).join(' ') || 'none';
}

/** "host-b: ipv6-unicast: 3 routes not sent (not negotiated: the peer did not offer it)", one line per peer and family. */
export function notNegotiatedLines(peers: readonly Pick<PeerStatusView, 'id' | 'notNegotiated'>[]): string {
  return peers
    .flatMap((p) => (p.notNegotiated ?? []).map((f) => `${p.id}: ${f.family}: ${f.routes} route${f.routes === 1 ? '' : 's'} not sent (${f.why})\n`))
    .join('');
}

/** "Up 900ms", "Down", "-" without BFD. */
/** "peer restarting, 201 stale" while graceful restart keeps a peer's routes; '-' otherwise. */
export function grCell(p: Pick<PeerStatusView, 'gracefulRestart'>): string {
  const g = p.gracefulRestart;
  if (!g || (g.state === undefined && g.stale === 0)) return '-';
  return [g.state, g.stale > 0 ? `${g.stale} stale` : undefined].filter(Boolean).join(', ');
}

export function bfdCell(p: Pick<PeerStatusView, 'bfd'>): string {
  const b = p.bfd;
  if (!b) return '-';
  if (b.error) return `${b.state} (${b.error})`;
  return b.state === 'Up' ? `Up ${b.detectTimeMs}ms` : b.state;
}

const STATUS_HELP = `
Description:
  Asks the running agent (over its control socket) for its sessions and prints one row per peer:
  name, address, AS, type (mesh, external, rr-client), FSM state and how long it has been in it,
  prefixes received (announced by the peer this session, before import policy), accepted (in
  the RIB after policy) and advertised (what we currently send it), and the last error (a
  NOTIFICATION sent or received, a max-prefix limit, a connection failure) with how long ago it
  happened. FAMILIES: the address families the session negotiated (v4 = IPv4 unicast, v6 = IPv6
  unicast; RFC 4760); for a family we have routes for that the session did not negotiate, a line
  below the table says how many routes the peer does not get and who did not offer the family
  (families / notNegotiated in --json). Peers with BFD get a BFD column: the BFD session state and, when Up, its detection
  time; --json has the whole BFD session (discriminators, intervals, counters, diagnostics) and
  the BFD packets dropped before reaching a session (bfdDropped). Peers are listed by name, then
  address (the same order after a reload). An Established session does not show a connection failure from before it came up
  (--json keeps it, with lastErrorAt). Peers with a TCP MD5 password get an MD5 column (md5: true
  in --json); one that is not up gets a line below the table with what can be known (the kernel
  drops badly signed segments silently): dial attempts that timed out and the kernel's MD5 drop
  counters (md5Diagnosis in --json).

  Above the table: the data plane's underlay device and MTU, and the MTU containers must use
  (underlay - 50 when a pool may use VXLAN, - 20 for IP-in-IP, the underlay MTU when no pool
  tunnels), the kernel routes by shape, batches applied and lines that failed. Host protection
  (hostProtection in --json): weft's nftables table inet weft, the size of each set (bgp4/bgp6:
  peers and mesh members allowed to the BGP port; vxlan4/vxlan6: members allowed to send VXLAN;
  bfd4/bfd6; vnis), packets dropped per rule, transactions written, repairs of a table found
  flushed or deleted, the last check and the last error.

  --watch [SECONDS] redraws every SECONDS (default 2) until Ctrl-C; with --json it prints one
  status object per line per interval. Under --json every error is one line
  {"error": {"code": "...", "message": "..."}} on standard output, with the same exit status
  (codes: usage, unreachable, agent-error, internal).

Examples:
  weft status
  weft status && echo healthy                  every configured peer Established
  weft status --json | jq '.peers[] | select(.state != "Established")'
  weft status --watch 1
  weft status -s /tmp/lab/a.sock
`;

/** The exit status scripts get from `weft status` (and `weft neighbor` without a name). */
export const STATUS_EXIT_HELP = {
  0: 'the agent answered and every configured peer is Established (or none is configured)',
  1: 'a configured peer is not Established, or the agent cannot be reached (not running, no\npermission on the socket), or it refused the request',
  2: 'usage error: unknown option, bad --watch value',
} as const;

/** 1 when some configured peer is not Established: what `weft status` as a check means. */
export function peersHealth(peers: readonly Pick<PeerStatusView, 'state'>[]): number {
  return peers.every((p) => p.state === 'Established') ? ExitStatus.OK : ExitStatus.UNHEALTHY;
}

async function statusFrame(socket: string | undefined): Promise<Frame> {
  const r = await askAgent(socket, { op: 'status' });
  const st = r.status as AgentStatus;
  return { text: formatStatus(st), json: st, status: peersHealth(st.peers) };
}

/** One frame printed once, or again every interval with --watch; sets the exit status. */
export async function printFrames(ctx: CommandContext, o: WatchOptions & { json?: boolean }, title: string, frame: () => Promise<Frame>): Promise<void> {
  const plan = watchPlan(o);
  if (plan) return runWatch(ctx, plan, { json: o.json, title }, frame);
  const f = await frame();
  ctx.io.out(o.json ? `${toJson(f.json)}\n` : f.text);
  ctx.exitStatus = f.status;
}

export function registerStatus(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('status')
    .summary("the running agent's peers: state, since, prefixes, last error")
    .description("Show the running agent's BGP sessions.")
    .option('--json', 'print the full status as one JSON object');
  addWatchOptions(cmd)
    .option('-s, --socket <path>', SOCKET_HELP)
    .addHelpText('after', STATUS_HELP)
    .action((o: WatchOptions & { json?: boolean; socket?: string }) =>
      runJsonAware(ctx, o.json, () => printFrames(ctx, o, 'weft status', () => statusFrame(o.socket))),
    );
  withExitHelp(cmd, STATUS_EXIT_HELP);
  jsonUsageErrors(cmd, ctx);
}

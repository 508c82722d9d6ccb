/**
 * `weft routes [PREFIX|ADDRESS]`: the running agent's Loc-RIB with the best path of each prefix
 * and why it won; one prefix (exact) or the longest match of an address; every candidate path
 * (--all-paths); one peer's Adj-RIB-In (--received) or Adj-RIB-Out (--advertised).
 */
import { Command } from 'commander';
import type { PathTable, PathView, PeerStatusView, RouteView } from '../agent/control/protocol.js';
import { isIpv4, isIpv6 } from '../lib/address.js';
import { formatPrefix, hostPrefix, parsePrefix, prefixContains, prefixLength, type Prefix } from '../lib/prefix.js';
import { jsonUsageErrors, runJsonAware, withExitHelp } from './exit-help.js';
import { CliError, ExitStatus, formatTable, type CommandContext } from './output.js';
import { askAgent, printFrames, SOCKET_HELP } from './status.js';
import { addWatchOptions, type Frame, type WatchOptions } from './watch.js';

const ROUTES_HELP = `
Description:
  Asks the running agent for its Loc-RIB: every prefix with its best path (the peer it came from,
  or "local" for this node's own blocks), the NEXT_HOP, AS_PATH, LOCAL_PREF, the number of
  candidate paths and the reason the best one won (the RFC 4271 9.1 decision step that decided,
  "only path" when there was no competition). Prefixes are in numeric order (IPv4 first).

  With the data plane on (the default), each row also says how the prefix is in the kernel:
  SHAPE is direct (via the peer's underlay address), vxlan (via weft.vxlan), ipip (via tunl0),
  blackhole (one of this node's blocks), local (nothing to write: the next hop is this node) or
  none (not written, WHY says why); INSTALLED is yes when the kernel has that route now (proto
  weft); WHY is the reason for the shape (the pool's encapsulation, same subnet or not, eBGP).
  \`weft explain ADDRESS\` answers the same questions for one address.

  PREFIX (10.244.1.0/26) shows that prefix only (exact match); ADDRESS (10.244.1.7) shows the
  longest prefix that contains it.
  --peer NAME|ADDRESS: only the routes whose best path came from that peer.
  --all-paths: every candidate path of each prefix (the Loc-RIB keeps every peer's paths),
    best first: BEST is * for the best path, = for another path of the multipath set, blank for
    a path that lost; WHY says why the best won, and for each other path the decision step that
    removed it. With --peer: only that peer's candidates.
  --received (needs --peer): the peer's Adj-RIB-In, the routes it sent that the import policy
    accepted, with their attributes AS RECEIVED (before import policy; POLICY says "changed"
    when the policy set LOCAL_PREF or communities: --all-paths shows the result). Routes the
    policy refused are not kept, only counted (weft neighbor NAME).
  --advertised (needs --peer): the peer's Adj-RIB-Out, what was sent to it, with the attributes
    after export (next hop self, AS prepended for eBGP).
  --watch [SECONDS] redraws until Ctrl-C (one JSON array per line with --json); a PREFIX or
    ADDRESS right after --watch is the route to show (redrawn every 2 s), not the interval.

  Under --json every error is one line {"error": {"code": "...", "message": "..."}} on standard
  output with the same exit status (codes: usage, unknown-peer, not-found, unreachable,
  agent-error, internal).

Examples:
  weft routes
  weft routes 10.244.1.0/26 --all-paths
  weft routes 10.244.1.7                      the route that carries this address
  weft routes --peer host-b --received
  weft routes --watch 10.244.1.0/26            that prefix, redrawn every 2 s
  weft routes --peer tor --advertised --json | jq -r '.[].prefix'
  weft routes --json | jq -r '.[] | select(.installed == false) | "\\(.prefix) \\(.why)"'
`;

export const ROUTES_EXIT_HELP = {
  0: 'the agent answered (and with PREFIX or ADDRESS: a route was found)',
  1: 'no route for the PREFIX or ADDRESS given (code not-found), or the agent cannot be reached\nor refused',
  2: 'usage error: bad PREFIX or ADDRESS, unknown --peer (the known peers are listed),\n--received or --advertised without --peer, both together, bad --watch value',
} as const;

export function formatRoutes(routes: readonly RouteView[]): string {
  if (routes.length === 0) return 'no routes\n';
  const hasDataplane = routes.some((r) => r.shape !== undefined);
  return formatTable<RouteView>(routes, [
    { header: 'PREFIX', value: (r) => r.prefix },
    // A stale path: kept from a peer restarting gracefully (RFC 4724 4.2) until its End-of-RIB.
    { header: 'FROM', value: (r) => (r.source === 'local' ? 'local' : r.stale ? `${r.peer} (stale)` : r.peer) },
    // With ECMP the kernel route has every equal path's next hop: all of them are shown.
    { header: 'NEXT HOP', value: (r) => (r.via && r.via.length > 1 ? r.via.join(',') : r.nextHop || '-') },
    { header: 'AS PATH', value: (r) => r.asPath || '-' },
    { header: 'LOCAL PREF', value: (r) => r.localPref ?? '-', right: true },
    { header: 'PATHS', value: (r) => r.candidates, right: true },
    { header: 'WHY BEST', value: (r) => r.reason },
    ...(hasDataplane
      ? [
          { header: 'SHAPE', value: (r: RouteView) => r.shape ?? '-' },
          { header: 'INSTALLED', value: (r: RouteView) => (r.installed === undefined ? '-' : r.installed ? 'yes' : 'no') },
          { header: 'WHY', value: (r: RouteView) => r.why ?? '' },
        ]
      : []),
  ]);
}

const BEST_MARK = { best: '*', multipath: '=', lost: '' } as const;

/** Paths of --all-paths, --received or --advertised. */
export function formatPaths(paths: readonly PathView[], table: PathTable): string {
  if (paths.length === 0) return 'no routes\n';
  return formatTable<PathView>(paths, [
    { header: 'PREFIX', value: (r) => r.prefix },
    ...(table === 'candidates' ? [{ header: 'BEST', value: (r: PathView) => (r.rank ? BEST_MARK[r.rank] : '') }] : []),
    { header: table === 'advertised' ? 'TO' : 'FROM', value: (r) => (r.stale ? `${r.peer} (stale)` : r.peer) },
    { header: 'NEXT HOP', value: (r) => r.nextHop || '-' },
    { header: 'AS PATH', value: (r) => r.asPath || '-' },
    { header: 'LOCAL PREF', value: (r) => r.localPref ?? '-', right: true },
    { header: 'MED', value: (r) => r.med ?? '-', right: true },
    { header: 'COMMUNITIES', value: (r) => r.communities.join(' ') || '-' },
    ...(table === 'candidates' ? [{ header: 'WHY', value: (r: PathView) => r.reason ?? '' }] : []),
    ...(table === 'received' ? [{ header: 'POLICY', value: (r: PathView) => (r.policyChanged ? 'changed' : '-') }] : []),
  ]);
}

/** What the PREFIX|ADDRESS argument asks for: one prefix exactly, or the longest match of an address. */
export type RouteQuery = { type: 'prefix'; prefix: Prefix; text: string } | { type: 'address'; host: Prefix; text: string };

export function parseRouteQuery(text: string): RouteQuery {
  if (text.includes('/')) {
    try {
      const prefix = parsePrefix(text);
      return { type: 'prefix', prefix, text: formatPrefix(prefix) };
    } catch (e) {
      throw new CliError(`bad prefix: ${(e as Error).message}`, ExitStatus.USAGE, 'usage');
    }
  }
  if (!isIpv4(text) && !isIpv6(text)) throw new CliError(`not a prefix or an address: ${JSON.stringify(text)} (like 10.244.1.0/26 or 10.244.1.7)`, ExitStatus.USAGE, 'usage');
  return { type: 'address', host: hostPrefix(text), text };
}

/** The rows of the query: those of the exact prefix, or of the longest prefix containing the address. */
export function selectRows<Row extends { prefix: string }>(rows: readonly Row[], q: RouteQuery): Row[] {
  if (q.type === 'prefix') return rows.filter((r) => r.prefix === q.text);
  let best: { text: string; length: number } | undefined;
  for (const r of rows) {
    if (best?.text === r.prefix) continue;
    const p = parsePrefix(r.prefix, true);
    if (prefixContains(p, q.host) && (best === undefined || prefixLength(p) > best.length)) best = { text: r.prefix, length: prefixLength(p) };
  }
  return best ? rows.filter((r) => r.prefix === best.text) : [];
}

/** The peer --peer names (by name, else address); exit 2 naming it and the known ones. */
export function resolvePeer(peers: readonly Pick<PeerStatusView, 'id' | 'address'>[], given: string): Pick<PeerStatusView, 'id' | 'address'> {
  const p = peers.find((x) => x.id === given) ?? peers.find((x) => x.address === given);
  if (p) return p;
  const known = peers.map((x) => `${x.id} (${x.address})`).join(', ') || 'none configured';
  throw new CliError(`unknown peer ${JSON.stringify(given)}; known peers: ${known}`, ExitStatus.USAGE, 'unknown-peer');
}

interface RoutesOptions extends WatchOptions {
  json?: boolean;
  socket?: string;
  peer?: string;
  allPaths?: boolean;
  received?: boolean;
  advertised?: boolean;
}

function tableOf(o: RoutesOptions): PathTable | 'loc' {
  if (o.received && o.advertised) throw new CliError('--received and --advertised: choose one', ExitStatus.USAGE, 'usage');
  if ((o.received || o.advertised) && o.peer === undefined) throw new CliError(`--${o.received ? 'received' : 'advertised'} needs --peer NAME`, ExitStatus.USAGE, 'usage');
  if ((o.received || o.advertised) && o.allPaths) throw new CliError('--all-paths is about the Loc-RIB: not with --received or --advertised', ExitStatus.USAGE, 'usage');
  return o.received ? 'received' : o.advertised ? 'advertised' : o.allPaths ? 'candidates' : 'loc';
}

async function routesFrame(o: RoutesOptions, table: PathTable | 'loc', query: RouteQuery | undefined): Promise<Frame> {
  let peer: string | undefined;
  if (o.peer !== undefined) {
    const st = await askAgent(o.socket, { op: 'status' });
    peer = resolvePeer(st.status.peers, o.peer).id;
  }
  let rows: (RouteView | PathView)[];
  let text: (rows: never[]) => string;
  if (table === 'loc') {
    const all = (await askAgent(o.socket, { op: 'routes' })).routes;
    rows = peer === undefined ? all : all.filter((r) => r.source === 'peer' && r.peer === peer);
    text = (r: RouteView[]) => formatRoutes(r);
  } else {
    rows = (await askAgent(o.socket, { op: 'paths', table, ...(peer !== undefined ? { peer } : {}) })).paths;
    text = (r: PathView[]) => formatPaths(r, table);
  }
  if (query) {
    rows = selectRows(rows, query);
    if (rows.length === 0) {
      const where = table === 'loc' ? 'the Loc-RIB' : table === 'candidates' ? 'the candidate paths' : `the ${table} routes of ${peer}`;
      throw new CliError(
        `no route for ${query.text} in ${where}${peer !== undefined && table === 'loc' ? ` with a best path from ${peer}` : ''}${query.type === 'prefix' ? ' (exact match; give an address for the longest match)' : ''}`,
        ExitStatus.UNHEALTHY,
        'not-found',
      );
    }
  }
  return { text: text(rows as never[]), json: rows, status: ExitStatus.OK };
}

export function registerRoutes(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('routes')
    .summary("the running agent's Loc-RIB: best path per prefix, its source and why it won")
    .description("Show the running agent's routes: the Loc-RIB, one prefix, every candidate path, or one peer's Adj-RIB-In / Adj-RIB-Out.")
    .argument('[prefix-or-address]', 'one prefix (exact match) or an address (longest match)')
    .option('--json', 'print a JSON array (one object per prefix, or per path)')
    .option('--peer <name>', 'only routes from (or, with --advertised, to) this peer: a name or an address')
    .option('--all-paths', 'every candidate path of each prefix, the best marked, with why it won')
    .option('--received', "the peer's Adj-RIB-In (needs --peer)")
    .option('--advertised', "the peer's Adj-RIB-Out (needs --peer)");
  // `--watch 10.244.1.0/26` is the prefix with the default interval; a malformed prefix goes
  // there too, so that its error says what is wrong with it rather than "not a number".
  addWatchOptions(cmd, (w) => w.includes('/') || isIpv4(w) || isIpv6(w))
    .option('-s, --socket <path>', SOCKET_HELP)
    .addHelpText('after', ROUTES_HELP)
    .action((arg: string | undefined, o: RoutesOptions) =>
      runJsonAware(ctx, o.json, async () => {
        const table = tableOf(o);
        const query = arg === undefined ? undefined : parseRouteQuery(arg);
        await printFrames(ctx, o, `weft routes${arg ? ` ${arg}` : ''}`, () => routesFrame(o, table, query));
      }),
    );
  withExitHelp(cmd, ROUTES_EXIT_HELP);
  jsonUsageErrors(cmd, ctx);
}

/** `weft routes`: the running agent's Loc-RIB with the best path of each prefix and why it won. */
import { Command } from 'commander';
import type { RouteView } from '../agent/control/protocol.js';
import { formatTable, toJson, type CommandContext } from './output.js';
import { askAgent, SOCKET_HELP } from './status.js';

const ROUTES_HELP = `
Description:
  Asks the running agent for its Loc-RIB: every prefix with its best path (the peer it came from,
  or "local" for this node's own blocks), the NEXT_HOP, AS_PATH, LOCAL_PREF, the number of
  candidate paths and the reason the best one won (the RFC 4271 9.1 decision step that decided,
  "only path" when there was no competition).

  With the data plane on (the default), each row also says how the prefix is in the kernel:
  SHAPE is direct (via the peer's underlay address), vxlan (via weft.vxlan), ipip (via tunl0),
  blackhole (one of this node's blocks), local (nothing to write: the next hop is this node) or
  none (not written, WHY says why); INSTALLED is yes when the kernel has that route now (proto
  weft); WHY is the reason for the shape (the pool's encapsulation, same subnet or not, eBGP).
  \`weft explain ADDRESS\` answers the same questions for one address.

Exit status:
  0  the agent answered
  2  the agent cannot be reached

Examples:
  weft routes
  weft routes --json | jq -r '.[] | select(.source == "peer") | .prefix'
  weft routes --json | jq -r '.[] | select(.installed == false) | "\(.prefix) \(.why)"'
`;

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

export function registerRoutes(program: Command, ctx: CommandContext): void {
  program
    .command('routes')
    .summary("the running agent's Loc-RIB: best path per prefix, its source and why it won")
    .description("Show the running agent's routes.")
    .option('--json', 'print a JSON array (one object per prefix)')
    .option('-s, --socket <path>', SOCKET_HELP)
    .addHelpText('after', ROUTES_HELP)
    .action(async (o: { json?: boolean; socket?: string }) => {
      const r = await askAgent(o.socket, { op: 'routes' });
      const routes = r.routes as RouteView[];
      ctx.io.out(o.json ? `${toJson(routes)}\n` : formatRoutes(routes));
    });
}

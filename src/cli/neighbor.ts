/**
 * `weft neighbor [NAME|ADDRESS]` (alias `neighbour`): without a name a summary table like
 * `birdc show protocols`; with one, the session in detail like `birdc show protocols all X` and
 * `gobgp neighbor X` (control op "neighbors", agent/control/neighbor-views.ts).
 */
import { Command } from 'commander';
import type { NeighborView, NotificationView } from '../agent/control/protocol.js';
import { jsonUsageErrors, runJsonAware, withExitHelp } from './exit-help.js';
import { ExitStatus, formatTable, toJson, type CommandContext } from './output.js';
import { resolvePeer } from './routes.js';
import { askAgent, bfdCell, grCell, lastErrorCell, peersHealth, peerType, SOCKET_HELP } from './status.js';

const NEIGHBOR_HELP = `
Description:
  Without NAME: one line per peer (name, address, AS, type, state, since when, prefixes
  received / accepted / advertised, the last error), in name order, like \`birdc show protocols\`.

  With NAME (a peer's name or address): that session in detail, like \`birdc show protocols all
  NAME\` and \`gobgp neighbor ADDRESS\`: state and since when, the TCP connection (local and remote
  address and port, who dialled), AS and router id of both ends, hold and keepalive time as
  configured and as negotiated (RFC 4271 4.2), the capabilities we sent, the peer sent and what
  the session negotiated (families, 4-octet AS, route refresh, enhanced route refresh, graceful
  restart with the peer's Restart Time and R/N/F flags, extended next hop, extended messages,
  add-path), messages in and out per type (OPEN, UPDATE, NOTIFICATION, KEEPALIVE, ROUTE-REFRESH)
  and bytes (and bytes still queued to send, GoBGP's OutQ), prefixes per family (received this session before import policy, accepted after it,
  best in the Loc-RIB, advertised),
  the last NOTIFICATION sent and received (code/subcode, its name, the data, the RFC 9003
  shutdown text, when), the last error, Established transitions and flaps (sessions that went
  down), and BFD and graceful restart state where the peer has them. Counters run from the
  agent's start (or from the peer's creation by a reload).

  Under --json every error is one line {"error": {"code": "...", "message": "..."}} on standard
  output with the same exit status (codes: usage, unknown-peer, unreachable, agent-error, internal).

Examples:
  weft neighbor
  weft neighbor host-b
  weft neighbour 10.0.1.1 --json | jq .capabilities.negotiated
  weft neighbor tor && echo up
`;

export const NEIGHBOR_EXIT_HELP = {
  0: 'with NAME: the session is Established; without: every configured peer is',
  1: 'a session named (or, without NAME, any session) is not Established; or the agent cannot be\nreached or refused',
  2: 'usage error; an unknown NAME (the message lists the known peers)',
} as const;

export function formatNeighborSummary(ns: readonly NeighborView[]): string {
  if (ns.length === 0) return 'no peers configured\n';
  return formatTable<NeighborView>(ns, [
    { header: 'NAME', value: (p) => p.id },
    { header: 'ADDRESS', value: (p) => p.address },
    { header: 'AS', value: (p) => p.asn, right: true },
    { header: 'TYPE', value: (p) => peerType(p.kind) },
    { header: 'STATE', value: (p) => p.state },
    { header: 'SINCE', value: (p) => p.since.slice(0, 19).replace('T', ' ') },
    { header: 'RCVD', value: (p) => p.received, right: true },
    { header: 'ACCEPTED', value: (p) => p.accepted, right: true },
    { header: 'ADVERTISED', value: (p) => p.advertised, right: true },
    { header: 'INFO', value: (p) => lastErrorCell(p) },
  ]);
}

function notificationText(n: NotificationView | undefined): string {
  if (!n) return 'none';
  const text = n.shutdownMessage !== undefined ? ` ${JSON.stringify(n.shutdownMessage)}` : n.data ? ` data ${n.data}` : '';
  return `${n.code}/${n.subcode} ${n.name}${text} at ${n.at}`;
}

const yes = (b: boolean) => (b ? 'yes' : 'no');

function negotiatedLines(p: NeighborView): string[] {
  const n = p.capabilities.negotiated;
  if (!n) return ['  negotiated:         - (not Established)'];
  const gr = n.gracefulRestart;
  const grText = gr.peer
    ? `yes, peer restart time ${gr.peer.restartTime}s${gr.peer.restarting ? ', R (restarting)' : ''}${gr.peer.notification ? ', N (RFC 8538)' : ''}` +
      `${gr.peer.forwardingPreserved.length ? `, forwarding kept for ${gr.peer.forwardingPreserved.join(' ')}` : ''}${gr.local ? '' : ' (we did not offer it)'}`
    : gr.local ? 'offered by us only' : 'no';
  return [
    `  negotiated:         families ${n.families.join(' ') || 'none'}`,
    `  4-octet AS:         ${yes(n.fourOctetAs)}    route refresh: ${yes(n.routeRefresh)}    enhanced route refresh: ${yes(n.enhancedRouteRefresh)}    extended messages: ${yes(n.extendedMessage)}`,
    `  graceful restart:   ${grText}`,
    `  extended next hop:  ${n.extendedNextHop.join(', ') || 'no'}`,
    `  add-path:           ${n.addPath.join(', ') || 'no'}`,
    ...(n.peerHostname ? [`  peer hostname:      ${n.peerHostname}`] : []),
  ];
}

export function formatNeighbor(p: NeighborView): string {
  const c = p.connection;
  const t = p.timers;
  const types = ['OPEN', 'UPDATE', 'NOTIFICATION', 'KEEPALIVE', 'ROUTE-REFRESH', 'total'];
  const msgTable = formatTable<[string, Record<string, number>]>(
    [
      ['received', p.messages.in],
      ['sent', p.messages.out],
    ],
    [{ header: '', value: (r) => r[0] }, ...types.map((k) => ({ header: k.toUpperCase(), value: (r: [string, Record<string, number>]) => r[1][k] ?? 0, right: true }))],
  );
  const fams = Object.entries(p.prefixes);
  const pfxTable = formatTable<[string, { received: number; accepted: number; best: number; advertised: number }]>(fams, [
    { header: 'FAMILY', value: (r) => r[0] },
    { header: 'RECEIVED', value: (r) => r[1].received, right: true },
    { header: 'ACCEPTED', value: (r) => r[1].accepted, right: true },
    { header: 'BEST', value: (r) => r[1].best, right: true },
    { header: 'ADVERTISED', value: (r) => r[1].advertised, right: true },
  ]);
  const indent = (s: string) => s.trimEnd().split('\n').map((l) => `    ${l}`).join('\n');
  const lines = [
    `neighbor ${p.id} (${p.address}), ${peerType(p.kind)}${p.passive ? ', passive' : ''}`,
    `  state:              ${p.state} since ${p.since}`,
    `  connection:         ${c ? `${c.localAddress}:${c.localPort} ${c.direction === 'inbound' ? '<-' : '->'} ${c.remoteAddress}:${c.remotePort} (${c.direction === 'inbound' ? 'the peer dialled' : 'we dialled'})` : `none (peer port ${p.port})`}`,
    `  local:              AS ${p.localAs}, router id ${p.routerId}`,
    `  remote:             AS ${p.asn}${p.peerRouterId ? `, router id ${p.peerRouterId}` : ''}`,
    `  hold time:          ${t.holdTime}s configured${t.negotiatedHoldTime !== undefined ? `, ${t.negotiatedHoldTime}s negotiated` : ''}`,
    `  keepalive:          ${t.keepaliveTime}s configured${t.negotiatedKeepaliveTime !== undefined ? `, ${t.negotiatedKeepaliveTime}s negotiated` : ''}`,
    `  connect retry:      ${t.connectRetryTime}s`,
    `  capabilities sent:  ${p.capabilities.sent.join('; ')}`,
    `  capabilities rcvd:  ${p.capabilities.received?.join('; ') ?? '- (no OPEN from the peer yet)'}`,
    ...negotiatedLines(p),
    `  messages:           ${p.messages.bytesIn} bytes in, ${p.messages.bytesOut} bytes out, ${p.messages.queuedBytes} bytes queued to send`,
    indent(msgTable),
    `  prefixes:           ${p.received} received this session (before import policy)${Object.keys(p.refused).length ? `, refused: ${Object.entries(p.refused).map(([k, n]) => `${n} ${k}`).join(', ')}` : ''}`,
    indent(pfxTable),
    `  last NOTIFICATION sent:      ${notificationText(p.lastNotificationSent)}`,
    `  last NOTIFICATION received:  ${notificationText(p.lastNotificationReceived)}`,
    `  last error:         ${p.lastError !== undefined ? `${p.lastError}${p.lastErrorAt ? ` at ${p.lastErrorAt}` : ''}` : 'none'}`,
    `  established:        ${p.establishedTransitions} times, ${p.flaps} flap${p.flaps === 1 ? '' : 's'}`,
    ...(p.bfd ? [`  BFD:                ${bfdCell(p)}`] : []),
    ...(p.gracefulRestart ? [`  graceful restart:   ${p.gracefulRestart.enabled ? 'enabled' : 'disabled'}${grCell(p) !== '-' ? `, ${grCell(p)}` : ''}`] : []),
    ...(p.md5 ? [`  TCP MD5:            yes${p.md5Diagnosis ? ` (${p.md5Diagnosis})` : ''}`] : []),
  ];
  return `${lines.join('\n')}\n`;
}

export function registerNeighbor(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('neighbor')
    .alias('neighbour')
    .summary('the peers in a table, or one peer in detail: capabilities, timers, counters, NOTIFICATIONs')
    .description("Show the running agent's BGP neighbours: a summary, or one in detail.")
    .argument('[name]', "a peer's name or address")
    .option('--json', 'print JSON (an array without NAME, one object with NAME)')
    .option('-s, --socket <path>', SOCKET_HELP)
    .addHelpText('after', NEIGHBOR_HELP)
    .action((name: string | undefined, o: { json?: boolean; socket?: string }) =>
      runJsonAware(ctx, o.json, async () => {
        const all = (await askAgent(o.socket, { op: 'neighbors' })).neighbors;
        if (name === undefined) {
          ctx.io.out(o.json ? `${toJson(all)}\n` : formatNeighborSummary(all));
          ctx.exitStatus = peersHealth(all);
          return;
        }
        const id = resolvePeer(all, name).id;
        const p = all.find((x) => x.id === id)!;
        ctx.io.out(o.json ? `${toJson(p)}\n` : formatNeighbor(p));
        ctx.exitStatus = p.state === 'Established' ? ExitStatus.OK : ExitStatus.UNHEALTHY;
      }),
    );
  withExitHelp(cmd, NEIGHBOR_EXIT_HELP);
  jsonUsageErrors(cmd, ctx);
}

/**
 * `weft explain ADDRESS`: why traffic to one address goes where it goes. The agent answers
 * (control op "explain", src/agent/dataplane-bridge.ts): the longest-match Loc-RIB route, the pool
 * and block, the node or peer it came from, the data-plane shape and why, and the kernel's own
 * answer (`ip -json route get ADDRESS` run by the agent).
 */
import { Command } from 'commander';
import type { ExplainView } from '../agent/control/protocol.js';
import { isIpv4, isIpv6 } from '../lib/address.js';
import { CliError, ExitStatus, toJson, type CommandContext } from './output.js';
import { jsonUsageErrors, runJsonAware, withExitHelp } from './exit-help.js';
import { askAgent, SOCKET_HELP } from './status.js';

const EXPLAIN_HELP = `
Description:
  Asks the running agent about one address: which Loc-RIB route carries it (longest match), the
  pool and block it is in, the node or peer the route came from and its next hop, the shape the
  data plane gives it (direct, vxlan, ipip, blackhole for this node's own blocks) and why (the
  pool's encapsulation and whether the node is in this node's subnet), whether the kernel has
  that route, and what the kernel itself says (\`ip -json route get ADDRESS\`).

  Under --json every error is one line {"error": {"code": "...", "message": "..."}} on standard
  output with the same exit status.

Examples:
  weft explain 10.244.7.9
  weft explain 10.244.7.9 --json | jq .shape
`;

function kernelText(k: Record<string, unknown> | null): string {
  if (!k) return '(no answer)';
  const parts = [String(k.type && k.type !== 'unicast' ? `${k.type} ` : '') + String(k.dst ?? '')];
  if (k.gateway) parts.push(`via ${String(k.gateway)}`);
  if (k.dev) parts.push(`dev ${String(k.dev)}`);
  if (k.prefsrc) parts.push(`src ${String(k.prefsrc)}`);
  if (Array.isArray(k.flags) && k.flags.length) parts.push(k.flags.join(' '));
  return parts.join(' ');
}

export function formatExplain(e: ExplainView): string {
  const lines: string[] = [`address   ${e.address}`];
  if (!e.route) {
    lines.push(`route     none in the Loc-RIB${e.pool ? ` (inside pool ${e.pool})` : ''}`, `why       ${e.why}`);
  } else {
    const r = e.route;
    lines.push(`route     ${r.prefix} from ${r.source === 'local' ? 'this node (local block)' : `${r.peer} (${r.peerAddress})`}${r.nextHop ? `, next hop ${r.nextHop}` : ''}`);
    lines.push(`best      ${r.bestReason}`);
    lines.push(`pool      ${e.pool ?? '(outside every pool)'}${e.block ? `  block ${e.block}` : ''}`);
    if (e.node) lines.push(`node      ${e.node.name} (${e.node.address})`);
    lines.push(`shape     ${e.shape ?? '-'}`);
    lines.push(`why       ${e.why}`);
    if (e.mac) lines.push(`vtep mac  ${e.mac.value} (${e.mac.source})`);
    lines.push(`installed ${e.installed ? 'yes' : 'no'}`);
  }
  if (e.isolation) lines.push(`isolated  ${e.isolation}`);
  lines.push(`kernel    ${e.kernelError ? `error: ${e.kernelError}` : kernelText(e.kernel)}`);
  return `${lines.join('\n')}\n`;
}

export function registerExplain(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('explain')
    .summary('which route carries an address, from which node, direct or tunnelled, and why')
    .description('Explain how the running agent routes one address.')
    .argument('<address>', 'an IPv4 or IPv6 address, like 10.244.7.9')
    .option('--json', 'print one JSON object')
    .option('-s, --socket <path>', SOCKET_HELP)
    .addHelpText('after', EXPLAIN_HELP)
    .action((address: string, o: { json?: boolean; socket?: string }) =>
      runJsonAware(ctx, o.json, async () => {
        if (!isIpv4(address) && !isIpv6(address)) throw new CliError(`not an IP address: ${address}`, ExitStatus.USAGE, 'usage');
        const r = await askAgent(o.socket, { op: 'explain', address });
        const e = r.explain as ExplainView;
        ctx.io.out(o.json ? `${toJson(e)}\n` : formatExplain(e));
      }),
    );
  withExitHelp(cmd, {
    0: 'the agent answered',
    1: 'the agent refused (the data plane is off), or cannot be reached',
    2: 'usage error: not an IP address',
  });
  jsonUsageErrors(cmd, ctx);
}

/** `weft advertise CIDR`, `weft withdraw CIDR` and `weft reload`: changes to the running agent. */
import { Command } from 'commander';
import { parsePrefix } from '../lib/prefix.js';
import { CliError, ExitStatus, toJson, type CommandContext } from './output.js';
import { jsonUsageErrors, runJsonAware } from './exit-help.js';
import { askAgent, SOCKET_HELP } from './status.js';

/** A CIDR argument checked here, so a malformed one is a usage error (2) and never reaches the agent. */
function checkedCidr(cidr: string): string {
  try {
    parsePrefix(cidr);
  } catch (e) {
    throw new CliError(`CIDR '${cidr}': ${e instanceof Error ? e.message : String(e)} (give a block such as 10.244.3.0/26)`, ExitStatus.USAGE, 'usage');
  }
  return cidr;
}

const ADVERTISE_HELP = `
Description:
  Tells the running agent that CIDR is a block of this host (normally done by the IPAM/CNI side
  when it hands out a new block). The block must lie inside one of the configured pools and be a
  whole number of pool blocks (a /26 or a /25 in a pool with blockSize 26, never a /27). It is
  announced to every peer at once and stays until withdrawn or the agent restarts (add it to
  blocks: in the file to keep it). Advertising a block already advertised changes nothing.
  Without CIDR, an agent with membership.etcd claims the next free block of its pools in the
  registry (a compare-and-set: no two hosts ever get the same block) and advertises it; the
  claim stays across restarts until "weft withdraw" gives it back or "weft node delete" removes
  the host. Without membership.etcd, CIDR is required.

Exit status:
  0  done (or nothing to do)
  1  the agent refused it (outside the pools, host bits set, ...), with the reason; or the agent
     cannot be reached (not running, no permission on the socket)
  2  usage error (a missing or malformed argument)
  3  internal error (a bug in weft; WEFT_DEBUG=1 prints the stack trace)

Examples:
  weft advertise 10.244.3.0/26
  weft advertise -s /tmp/lab/a.sock 10.244.3.64/26
  weft advertise            # membership.etcd: the next free block, printed
`;

const WITHDRAW_HELP = `
Description:
  Tells the running agent that CIDR is no longer a block of this host: it is withdrawn from every
  peer at once. A block from the configuration file stays withdrawn until the agent restarts.
  Withdrawing a block that is not advertised changes nothing.

Exit status:
  0  done (or nothing to do)
  1  the agent refused the request, with the reason; or the agent cannot be reached
  2  usage error (a missing or malformed argument)
  3  internal error (a bug in weft; WEFT_DEBUG=1 prints the stack trace)

Examples:
  weft withdraw 10.244.3.0/26
`;

const RELOAD_HELP = `
Description:
  Asks the running agent to re-read its configuration file (like kill -HUP): peers that are new
  are added, peers that are gone are closed, changed peers are restarted, the others are not
  touched; blocks are diffed the same way. Prints what changed. An invalid file is refused and
  the running configuration stays.

Exit status:
  0  reloaded
  1  the file is invalid (the problems are printed), or the agent cannot be reached
  2  usage error
  3  internal error (a bug in weft; WEFT_DEBUG=1 prints the stack trace)

Examples:
  weft reload
`;

export function registerBlocks(program: Command, ctx: CommandContext): void {
  for (const op of ['advertise', 'withdraw'] as const) {
    const cmd = program
      .command(op === 'advertise' ? 'advertise [cidr]' : 'withdraw <cidr>')
      .summary(op === 'advertise' ? 'announce a new local block from the running agent' : 'stop announcing a local block')
      .description(op === 'advertise' ? 'Advertise a block of this host.' : 'Withdraw a block of this host.')
      .option('--json', 'print the reply as JSON')
      .option('-s, --socket <path>', SOCKET_HELP)
      .addHelpText('after', op === 'advertise' ? ADVERTISE_HELP : WITHDRAW_HELP)
      .action((cidr: string | undefined, o: { json?: boolean; socket?: string }) =>
        runJsonAware(ctx, o.json, async () => {
          // No block: the agent claims the next free one from the etcd registry ("auto").
          const r = await askAgent(o.socket, { op, prefix: cidr === undefined ? 'auto' : checkedCidr(cidr) });
          if (o.json) ctx.io.out(`${toJson(r)}\n`);
          else ctx.io.out(`${r.prefix}: ${r.changed ? (op === 'advertise' ? 'advertised' : 'withdrawn') : `already ${op === 'advertise' ? 'advertised' : 'not advertised'}`}\n`);
        }),
      );
    jsonUsageErrors(cmd, ctx);
  }
  const reload = program
    .command('reload')
    .summary('make the running agent re-read its configuration file')
    .description('Reload the running agent configuration.')
    .option('--json', 'print the reply as JSON')
    .option('-s, --socket <path>', SOCKET_HELP)
    .addHelpText('after', RELOAD_HELP)
    .action((o: { json?: boolean; socket?: string }) => runJsonAware(ctx, o.json, async () => {
      const r = await askAgent(o.socket, { op: 'reload' });
      const d = r.reload as { added: string[]; removed: string[]; changed: string[]; unchanged: number; restartNeeded: string[]; warnings: string[] };
      if (o.json) {
        ctx.io.out(`${toJson(d)}\n`);
        return;
      }
      const list = (xs: string[]) => (xs.length ? xs.join(', ') : 'none');
      ctx.io.out(`added: ${list(d.added)}\nremoved: ${list(d.removed)}\nchanged: ${list(d.changed)}\nunchanged: ${d.unchanged}\n`);
      if (d.restartNeeded.length) ctx.io.out(`needs an agent restart to take effect: ${d.restartNeeded.join(', ')}\n`);
      for (const w of d.warnings) ctx.io.err(`warning: ${w}\n`);
    }));
  jsonUsageErrors(reload, ctx);
}

/** `weft node list` and `weft node delete NAME`: the hosts in the etcd registry (membership.etcd). */
import { runJsonAware } from './exit-help.js';
import { Command } from 'commander';
import { loadOrFail, DEFAULT_CONFIG_FILE } from './agent.js';
import { CliError, ExitStatus, formatTable, toJson, type CommandContext } from './output.js';
import type { EtcdSettings } from '../agent/config/membership-config.js';

const LIST_HELP = `
Description:
  Reads the etcd registry of the configuration's membership.etcd: every host that is registered
  (its agent runs, or stopped less than leaseTtl ago) or holds block claims, with its address
  and blocks. A record that does not validate is shown with the reason the agents refuse it.

Examples:
  weft node list
  weft node list -c /etc/weft/weft.yaml --json

Exit status:
  0  listed (an empty registry too)
  1  etcd failed, with the reason
  2  usage: bad configuration, no membership.etcd
  3  internal error (a bug in weft; WEFT_DEBUG=1 prints the stack trace)
`;

const DELETE_HELP = `
Description:
  Removes host NAME from the registry for good: its block claims are released (the blocks go
  back to the pools, for "blocks: auto" and "weft advertise" of other hosts) and its record is
  deleted. A host that merely restarts keeps its blocks; this is for a host that is gone, as
  "calicoctl delete node". A host that is still registered is refused unless --force (its agent
  would go on advertising blocks another host may then claim).

Exit status:
  0  deleted (or nothing was there)
  1  refused (still registered) or etcd failed, with the reason
  2  usage: bad configuration, no membership.etcd
  3  internal error (a bug in weft; WEFT_DEBUG=1 prints the stack trace)

Examples:
  weft node delete host-7
`;

function settings(file: string): { etcd: EtcdSettings; asn: number } {
  const c = loadOrFail(file).config;
  const etcd = c.membership?.etcd;
  if (!etcd) throw new CliError(`${file}: no membership.etcd: weft node works on the etcd registry`, ExitStatus.USAGE);
  return { etcd, asn: c.node.asn };
}

export function registerNode(program: Command, ctx: CommandContext): void {
  const node = program.command('node').summary('hosts in the etcd registry (membership.etcd)').description('Hosts in the etcd registry.');
  // `weft node` alone prints this help on standard error and exits 2 (no subcommand given).
  node.addHelpText('after', `
Exit status:
  0  the subcommand succeeded (see weft node list --help, weft node delete --help)
  1  etcd failed, or a delete was refused (the host is still registered)
  2  usage error: no or an unknown subcommand; bad configuration, no membership.etcd
  3  internal error (a bug in weft; WEFT_DEBUG=1 prints the stack trace)
`);
  node
    .command('list')
    .summary('every registered host and its blocks')
    .description('List the hosts of the etcd registry.')
    .option('-c, --config <file>', 'the agent configuration (for membership.etcd)', DEFAULT_CONFIG_FILE)
    .option('--json', 'print JSON')
    .addHelpText('after', LIST_HELP)
    .action((o: { config: string; json?: boolean }) => runJsonAware(ctx, o.json, async () => {
      const s = settings(o.config);
      const { listNodes } = await import('../agent/membership/admin.js');
      const rows = await listNodes(s.etcd, s.asn).catch((e: Error) => {
        throw new CliError(e.message, ExitStatus.UNHEALTHY);
      });
      if (o.json) {
        ctx.io.out(`${toJson(rows)}\n`);
        return;
      }
      ctx.io.out(
        formatTable(rows, [
          { header: 'NAME', value: (r) => r.name },
          { header: 'REGISTERED', value: (r) => (r.registered ? 'yes' : 'no') },
          { header: 'ADDRESS', value: (r) => r.address ?? (r.problem ? `refused: ${r.problem}` : '') },
          { header: 'BLOCKS', value: (r) => r.blocks.join(' ') },
        ]),
      );
    }));
  node
    .command('delete <name>')
    .summary('remove a gone host: release its blocks, delete its record')
    .description('Delete a host from the etcd registry.')
    .option('-c, --config <file>', 'the agent configuration (for membership.etcd)', DEFAULT_CONFIG_FILE)
    .option('--force', 'delete even while the host is registered')
    .option('--json', 'print JSON')
    .addHelpText('after', DELETE_HELP)
    .action((name: string, o: { config: string; force?: boolean; json?: boolean }) => runJsonAware(ctx, o.json, async () => {
      const s = settings(o.config);
      const { deleteNode } = await import('../agent/membership/admin.js');
      const r = await deleteNode(s.etcd, name, o.force === true).catch((e: Error) => {
        throw new CliError(e.message, ExitStatus.UNHEALTHY);
      });
      if (o.json) ctx.io.out(`${toJson({ name, ...r })}\n`);
      else ctx.io.out(`${name}: ${r.recordDeleted ? 'record deleted' : 'no record'}; ${r.released.length} block claim(s) released${r.released.length ? `: ${r.released.join(' ')}` : ''}\n`);
    }));
}

/** `weft config check FILE`: validates an agent configuration without starting anything. */
import { Command } from 'commander';
import { formatPrefix } from '../lib/prefix.js';
import { isSelf } from '../agent/config/config-helpers.js';
import { redactPasswords } from '../agent/config/md5-check.js';
import { DEFAULT_CONFIG_FILE, loadOrFail } from './agent.js';
import { exitHelpText, withExitHelp } from './exit-help.js';
import { toJson, type CommandContext } from './output.js';

const CHECK_HELP = `
Description:
  Reads the configuration the way "weft agent -c FILE" does and reports every problem with its
  field path (peers[1].holdTime: ..., blocks[0]: 10.9.0.0/26 is outside every pool ...), then the
  warnings (a /32 node address: never "same subnet", calico#4254). Besides the shape of each
  field it checks the whole: blocks inside pools, pools apart from each other and from the
  underlay subnets (node.address, node.address4, node.address6), no address or name used twice,
  mesh entries that carry this node's name with another address (or its address with another
  name), node.address4 / node.address6 only next to a node.address of the other family, a
  listen.address that can accept node.address's family ("::" takes both), and a pool whose
  family has no underlay address to carry it natively (an error with encapsulation never, a
  warning with crossSubnet: it always tunnels). On success it prints a
  summary: the node, how many mesh nodes and external peers, the pools and blocks (--json prints
  passwords as "(hidden)"). The nodes file, if any, is not read (it may live only on the hosts).
  Without FILE it checks /etc/weft/weft.yaml, the file "weft agent" reads without -c.
${exitHelpText({
  0: 'valid (warnings may have been printed on standard error)',
  2: 'invalid, the file cannot be read, or it sets a password (TCP MD5) and the MD5 addon is not\n' +
    'available on this machine; or a usage error',
})}
Examples:
  weft config check                      the default, /etc/weft/weft.yaml
  weft config check /etc/weft/weft.yaml
  weft config check --json weft.yaml
`;

export function registerConfigCheck(program: Command, ctx: CommandContext): void {
  const config = program.command('config').summary('work with agent configuration files').description('Work with agent configuration files.');
  config.configureOutput({ writeOut: (t) => ctx.io.out(t), writeErr: (t) => ctx.io.err(t) }).exitOverride();
  // `weft config` alone prints this help on standard error and exits 2 (no subcommand given).
  withExitHelp(config, {
    0: 'the subcommand succeeded (see weft config check --help)',
    2: 'usage error: no or an unknown subcommand; an invalid or unreadable configuration file',
  });
  config
    .command('check [file]')
    .summary('validate an agent configuration file')
    .description('Validate an agent configuration file.')
    .option('--json', 'print the normalised configuration as JSON')
    .addHelpText('after', CHECK_HELP)
    .action((file: string | undefined, o: { json?: boolean }) => {
      file ??= DEFAULT_CONFIG_FILE;
      const { config: c, warnings } = loadOrFail(file, 'weft config check FILE');
      for (const w of warnings) ctx.io.err(`warning: ${w}\n`);
      if (o.json) {
        ctx.io.out(
          `${toJson({ ...redactPasswords(c), pools: c.pools.map((p) => ({ ...p, cidr: formatPrefix(p.cidr) })), blocks: c.blocks.map(formatPrefix), warnings })}\n`,
        );
        return;
      }
      const mesh = c.mesh.nodes.filter((n) => !isSelf(c, n)).length;
      ctx.io.out(
        `${file}: valid\n` +
          `  node ${c.node.name} AS ${c.node.asn} address ${c.node.address.address}/${c.node.address.length}` +
          `${c.node.address6 ? ` address6 ${c.node.address6.address}/${c.node.address6.length}` : ''}${c.node.address4 ? ` address4 ${c.node.address4.address}/${c.node.address4.length}` : ''}` +
          `; listen ${c.listen.address} port ${c.listen.port}; maxPaths ${c.maxPaths}\n` +
          `  mesh: ${c.mesh.enabled ? `${mesh} other node(s)${c.mesh.nodesFile ? ` + ${c.mesh.nodesFile}` : ''}${c.membership ? ` + etcd ${c.membership.etcd.endpoints.join(',')} ${c.membership.etcd.prefix} (${c.membership.etcd.role})` : ''}` : 'disabled'}; external peers: ${c.peers.length}` +
          `${c.routeReflector ? '; route reflector' : ''}\n` +
          `  pools: ${c.pools.map((p) => `${formatPrefix(p.cidr)} (/${p.blockSize} blocks, ${p.encapsulation}, ${p.tunnel})`).join(', ') || 'none'}\n` +
          `  blocks: ${[...c.blocks.map(formatPrefix), ...(c.autoBlocks ? [`${c.autoBlocks} claimed from the pools (blocks: auto)`] : [])].join(', ') || 'none'}\n`,
      );
    });
}

/**
 * `weft peer -c FILE`: runs a BGP speaker with static routes from a small YAML file — the tool
 * to try a session against a router before the full agent exists, and what the interop tests run.
 */
import { Command, Option } from 'commander';
import { ConfigError } from '../agent/config/config-error.js';
import { createLogger, type LogLevel } from '../agent/observability/logger.js';
import { Speaker } from '../agent/peers/speaker.js';
import { exitHelpText } from './exit-help.js';
import { CliError, ExitStatus, type CommandContext } from './output.js';

const PEER_HELP = `
Description:
  Runs one BGP speaker: it listens for and dials the configured neighbours, runs each session
  through the RFC 4271 state machine, announces the configured routes to every Established
  neighbour (then End-of-RIB), answers ROUTE-REFRESH, and logs every state change and every
  route received as JSON lines (pino) on standard output. SIGTERM or SIGINT sends
  Cease/Administrative Shutdown (RFC 9003 text "weft is shutting down") to every neighbour and exits 0.

Configuration file (YAML):
  asn: 4200000001                 # our AS (4-octet AS numbers are fine)
  routerId: 10.0.0.1              # BGP Identifier
  listen: { address: 0.0.0.0, port: 179 }   # or "listen: false" to only dial
  peers:
    - address: 10.0.0.2           # connections from any other address are refused
      asn: 4200000002             # or "internal" / "external"
      holdTime: 90                # 0, or 3..65535 seconds
      connectRetry: 30            # seconds between dial attempts
      passive: false              # true: never dial, wait for the neighbour
      localAddress: 10.0.0.1      # source address for dialling (optional)
      password: secret            # TCP MD5 (RFC 2385), optional; needs the MD5 addon
      families: [ipv4-unicast, ipv6-unicast]
  announce:
    - prefix: 10.244.0.0/26
      nextHop: 10.0.0.1           # default: our address on the session
      communities: ["65000:100", no-export]
      largeCommunities: ["4200000001:1:2"]
      med: 10
${exitHelpText({
  0: 'stopped by SIGTERM/SIGINT after shutting the sessions down; with --check: the file is valid',
  2: 'usage error, the file cannot be read, the configuration is invalid (each problem is printed\n' +
    'with its field path), it has a password and the TCP MD5 addon is not available, or the\n' +
    'listen address could not be bound',
})}
Examples:
  weft peer -c lab.yaml
  weft peer -c lab.yaml --state-file /run/weft/peer.json --log-level debug
  weft peer -c lab.yaml --check           # validate the file and exit
`;

export function registerPeer(program: Command, ctx: CommandContext): void {
  program
    .command('peer')
    .summary('run a BGP speaker with static routes from a YAML file (sessions, no kernel routes)')
    .description('Run a BGP speaker with static routes from a YAML file.')
    .requiredOption('-c, --config <file>', 'the YAML configuration file')
    .option('--check', 'validate the configuration and exit')
    .option('--state-file <file>', 'keep a JSON snapshot of the sessions and received routes in this file')
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error', 'silent']).default('info'))
    .addHelpText('after', PEER_HELP)
    .action(async (o: { config: string; check?: boolean; stateFile?: string; logLevel: LogLevel }) => {
      let config;
      try {
        // The schema (zod) only for this command: `weft agent` never loads it.
        const { loadSpeakerConfig } = await import('../agent/config/speaker-config.js');
        config = loadSpeakerConfig(o.config);
        const { speakerMd5Problem } = await import('../agent/config/md5-check.js');
        const md5 = speakerMd5Problem(config);
        if (md5) throw new ConfigError(o.config, [md5]);
      } catch (e) {
        if (e instanceof ConfigError) throw new CliError(e.message, ExitStatus.USAGE);
        throw e;
      }
      if (o.check) {
        ctx.io.out(`${o.config}: valid (${config.peers.length} peer(s), ${config.announce.length} route(s))\n`);
        return;
      }
      const log = createLogger(o.logLevel);
      const speaker = new Speaker(config, log, o.stateFile);
      try {
        await speaker.start();
      } catch (e) {
        throw new CliError(`cannot start: ${(e as Error).message}`, ExitStatus.USAGE);
      }
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          void speaker.shutdown().then(resolve);
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      });
    });
}

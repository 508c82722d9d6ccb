/**
 * `weft agent -c FILE`: the routing daemon (src/agent/agent.ts). Validates the whole configuration
 * before starting anything; SIGHUP reloads it, SIGTERM/SIGINT shut the sessions down (gracefully:
 * graceful-restart peers keep our routes; --withdraw: they drop them) and exit 0.
 * The signal handlers are in place before the agent starts: the control socket answers (and a
 * supervisor may signal) before start() has finished, and a default SIGHUP would kill the process.
 */
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { Command, Option } from 'commander';
import { logEvent } from '../agent/observability/log-events.js';
import { Agent } from '../agent/agent.js';
import type { LoadedConfig } from '../agent/config/agent-config.js';
import { ConfigError } from '../agent/config/config-error.js';
import { loadAgentConfig } from '../agent/config/config-load.js';
import { agentMd5Problem } from '../agent/config/md5-check.js';
import { createLogger, LOG_FORMATS, type LogFormat, type LogLevel } from '../agent/observability/logger.js';
import { registerProtoName } from '../agent/kernel/rt-protos.js';
import { exitHelpText } from './exit-help.js';
import { CliError, ExitStatus, type CommandContext } from './output.js';

const AGENT_HELP = `
Description:
  Runs weft on this host: an iBGP session to every other node of the mesh (the node whose
  address text sorts higher dials, the other listens, as calico-node configures BIRD), sessions to the external peers (top-of-rack routers,
  route reflectors, or this node's own route-reflector clients), this host's blocks advertised to
  all of them, and every best-path change of the Loc-RIB handed to the data plane. Logs go to
  standard output, one child logger per peer: readable lines on a terminal, JSON lines (pino)
  otherwise (--log-format). With metrics.listen, the same listener serves /metrics, /healthz
  and /readyz (503 with the reasons until every peer was tried and the kernel is in sync).

  The configuration is checked as a whole first; any problem is printed with its field path and
  nothing is started. A node address without a real subnet length (/32) is a warning: with it no
  peer is ever "same subnet" (calico#4254).

  While it runs:
    weft status / weft routes        ask it over the control socket (mode 0600)
    weft advertise / weft withdraw   add or remove a block at run time
    kill -HUP PID  (or weft reload)  re-read the file: peers and blocks are diffed, only what
                                     changed is touched; node, listen, control and metrics need
                                     a restart
    the mesh nodes file              watched; a host added or removed opens or closes only its
                                     own session
    kill -TERM PID                   graceful stop, exit 0: peers with graceful restart (RFC
                                     4724) keep this host's routes until it is back (no
                                     NOTIFICATION, or Cease/Administrative Reset with the RFC
                                     8538 N bit); the others get Cease/Administrative Shutdown.
                                     With --withdraw every peer drops them (Hard Reset with N)

Configuration file (YAML):
  node: { name: host-a, asn: 64512, routerId: 10.0.1.11, address: 10.0.1.11/24,
          address6: fd00:1::11/64 }  # optional IPv6 underlay (address4 beside an IPv6 address)
  listen: { address: "::", port: 179 }  # default: both families on one socket (0.0.0.0 without IPv6)
  maxPaths: 8                            # equal best paths -> one kernel multipath route (1 = off)
  mesh:
    nodes: [ { name: host-b, address: 10.0.1.12 }, { name: host-c, address: 10.0.2.11 } ]
    nodesFile: /etc/weft/nodes.yaml      # a list of {name, address}; may include this node
    password: mesh-secret                # TCP MD5 (RFC 2385) on every mesh session (optional)
  peers:                                 # external peers
    - { address: 10.0.1.1, asn: 65001, holdTime: 90, maxPrefix: { limit: 1000, restartAfter: 60 },
        import: [ { prefixList: [ { action: permit, prefix: 0.0.0.0/0 } ], action: accept } ] }
    - { address: 10.0.1.21, asn: internal, routeReflectorClient: true }
    - { address: 10.0.1.2, asn: 65001, password: tor-secret }   # TCP MD5, 1-80 bytes, never shown
  routeReflector: { clusterId: 10.0.1.11 }   # this node reflects for its clients
  pools: [ { cidr: 10.244.0.0/16, blockSize: 26, encapsulation: crossSubnet, tunnel: vxlan } ]
  blocks: [ 10.244.3.0/26 ]              # inside a pool, whole /blockSize blocks
  control: { socket: /run/weft/weft.sock }
  metrics: { listen: 127.0.0.1:9179 }    # or false
  timers: { holdTime: 30, keepalive: 10, connectRetry: 5 }   # mesh sessions
  logLevel: info

Files:
  /etc/weft/weft.yaml                  the configuration read without -c ("weft install" writes
                                       a commented skeleton there)
  /run/weft/weft.sock                  the control socket (control.socket)
  /etc/iproute2/rt_protos.d/weft.conf  "249 weft": added at start when iproute2 has no name for
                                       249, so ip route shows proto weft; a different name for
                                       249 is left alone and logged (agent.proto-name-problem)

${exitHelpText({
  0: 'stopped by SIGTERM/SIGINT after shutting the sessions down',
  2: 'usage error, the file cannot be read or the configuration is invalid (nothing was started;\n' +
    'a password without the TCP MD5 addon counts as invalid); or it cannot start (the reason\n' +
    'follows "cannot start:"): another agent answers on the control socket, the BGP or metrics\n' +
    "address cannot be bound, the data plane or hostProtection's nftables table cannot be set up",
})}
Examples:
  weft agent                             with /etc/weft/weft.yaml
  weft agent -c /etc/weft/weft.yaml
  weft agent -c weft.yaml --log-level debug
  weft config check weft.yaml            validate only
`;

/** Where `weft agent` and `weft config check` look without a file argument (and `weft install` writes). */
export const DEFAULT_CONFIG_FILE = '/etc/weft/weft.yaml';

/**
 * Loads and checks the configuration; `other` says how to name another file (in the error when the
 * default file is missing).
 */
export function loadOrFail(file: string, other = '-c FILE'): LoadedConfig {
  if (file === DEFAULT_CONFIG_FILE && !existsSync(file)) {
    throw new CliError(
      `${file}: no such file (the default configuration): "weft install" writes a commented skeleton there to edit, or give another file with ${other}`,
      ExitStatus.USAGE,
    );
  }
  try {
    const loaded = loadAgentConfig(file);
    // A password needs the TCP MD5 addon: refused here (agent and config check), never run without its key.
    const md5 = agentMd5Problem(loaded.config);
    if (md5) throw new ConfigError(file, [md5]);
    return loaded;
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message, ExitStatus.USAGE);
    throw e;
  }
}

/** What the signals act on: the started agent. */
export interface SignalTarget {
  reload(): unknown;
  shutdown(): Promise<void>;
}

/** `process`, or a stand-in in tests. */
export interface SignalSource {
  on(signal: NodeJS.Signals, fn: () => void): unknown;
  off(signal: NodeJS.Signals, fn: () => void): unknown;
}

export interface AgentSignals {
  /** The agent has started: a SIGHUP that came meanwhile reloads now, a stop request stops it now. */
  started(agent: SignalTarget): void;
  /** start() failed: the handlers are removed. */
  failed(): void;
  /** Resolves once SIGTERM/SIGINT has shut the agent down (handlers removed). */
  readonly stopped: Promise<void>;
}

/**
 * SIGHUP -> reload (a failed reload is logged by the agent; the running configuration stays),
 * SIGTERM/SIGINT -> shutdown. Installed before start(); before started() a SIGHUP is remembered
 * (logged as agent.reload-deferred) and runs once, and a stop request waits for the start.
 */
export function installSignals(proc: SignalSource, log: Parameters<typeof logEvent>[0]): AgentSignals {
  let agent: SignalTarget | undefined;
  let hupPending = false;
  let stopPending = false;
  let stopping = false;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  const reload = (a: SignalTarget) => {
    try {
      a.reload();
    } catch {
      // logged by the agent; the running configuration stays
    }
  };
  const remove = () => {
    proc.off('SIGHUP', hup);
    proc.off('SIGTERM', stop);
    proc.off('SIGINT', stop);
  };
  const shutdown = (a: SignalTarget) => {
    stopping = true;
    void a.shutdown().finally(() => {
      remove();
      resolveStopped();
    });
  };
  function hup(): void {
    if (stopping || stopPending) return; // shutting down: nothing to reload
    if (agent) return reload(agent);
    if (!hupPending) logEvent(log, 'agent.reload-deferred', { signal: 'SIGHUP' });
    hupPending = true;
  }
  function stop(): void {
    if (stopping || stopPending) return;
    if (agent) return shutdown(agent);
    stopPending = true;
    logEvent(log, 'agent.shutdown-deferred', {});
  }
  proc.on('SIGHUP', hup);
  proc.on('SIGTERM', stop);
  proc.on('SIGINT', stop);
  return {
    started(a) {
      agent = a;
      if (stopPending) return shutdown(a);
      if (hupPending) {
        hupPending = false;
        reload(a);
      }
    },
    failed: remove,
    stopped,
  };
}

function logProtoName(log: Parameters<typeof logEvent>[0], r: ReturnType<typeof registerProtoName>): void {
  if (r.type === 'written') logEvent(log, 'agent.proto-name-registered', { file: r.file, appended: r.appended });
  else if (r.type === 'conflict' || r.type === 'failed') logEvent(log, 'agent.proto-name-problem', { file: r.file, problem: r.type }, r.message);
}

export function registerAgent(program: Command, ctx: CommandContext): void {
  program
    .command('agent')
    .summary('run the routing daemon: mesh, external peers, blocks, control socket, metrics')
    .description('Run the weft routing daemon on this host.')
    .option('-c, --config <file>', 'the YAML configuration file', DEFAULT_CONFIG_FILE)
    .addOption(new Option('--log-level <level>', 'log level (overrides logLevel in the file)').choices(['debug', 'info', 'warn', 'error', 'silent']))
    .addOption(new Option('--log-format <format>', 'log lines: pretty (readable, level names) or json (one object per line); auto: pretty on a terminal, else json').choices(LOG_FORMATS).default('auto'))
    .option('-s, --socket <path>', 'control socket (overrides control.socket in the file)')
    .option('--withdraw', 'on SIGTERM/SIGINT make every peer drop our routes (Cease, Hard Reset with RFC 8538 peers); default: graceful, peers with graceful restart keep them while weft restarts (RFC 4724)')
    .addHelpText('after', AGENT_HELP)
    .action(async (o: { config: string; logLevel?: LogLevel; logFormat?: LogFormat; socket?: string; withdraw?: boolean }) => {
      // V8's heap heuristics for a long-lived process that must stay small: the old generation
      // grows by a smaller factor between full collections (and the young one is smaller). At 1M
      // routes the peak RSS went from 210-280 MiB to 152-158 MiB, with no loss of speed (labs/bench).
      setFlagsFromString('--optimize-for-size');
      const loaded = loadOrFail(o.config);
      const log = createLogger(o.logLevel ?? loaded.config.logLevel, 1, o.logFormat);
      // iproute2's name for weft's route protocol (`proto weft`), added when missing; a
      // conflicting name is only reported: weft owns its routes by number.
      if (loaded.config.dataplane.enabled) logProtoName(log, registerProtoName('/'));
      const agent = new Agent(loaded, log, { controlSocket: o.socket });
      const signals = installSignals(process, log);
      try {
        await agent.start();
      } catch (e) {
        signals.failed();
        throw new CliError(`cannot start: ${(e as Error).message}`, ExitStatus.USAGE);
      }
      // Stop modes (session/graceful-restart.ts): graceful (default) or withdraw.
      const mode = o.withdraw ? 'withdraw' : 'graceful';
      const text = o.withdraw ? 'weft agent is shutting down' : 'weft agent is restarting';
      signals.started({ reload: () => agent.reload(), shutdown: () => agent.shutdown(text, mode) });
      await signals.stopped;
      ctx.exitStatus = ExitStatus.OK;
      // The NOTIFICATIONs are flushed by now or within the sockets' 2 s grace; do not linger.
      setTimeout(() => process.exit(ExitStatus.OK), 2500).unref();
    });
}

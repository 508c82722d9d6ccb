/**
 * `weft lab up|down|test|status FILE`: containerlab topologies realised on network namespaces
 * (src/lab). Progress goes to stderr, results to stdout (a table, or JSON with --json).
 */
import { Command, Option } from 'commander';
import { ConfigError } from '../agent/config/config-error.js';
import { clabCheckLines } from '../lab/clab-checks.js';
import { daemonHealth } from '../lab/clab-daemons.js';
import { hostConvergence } from '../lab/converge.js';
import { nsExists } from '../lab/down.js';
import { summarise, type PingResult } from '../lab/ping.js';
import { isGone } from '../lab/processes.js';
import type { FailMode, FailoverReport } from '../lab/failover.js';
import type { TestReport } from '../lab/scenario.js';
import { DEFAULT_STATE_DIR, LabError } from '../lab/state.js';
/** The lab runner and its topology schema (zod) are loaded only when a lab command runs. */
const scenario = () => import('../lab/scenario.js');
import type { Encapsulation } from '../lab/topology.js';
import { withExitHelp } from './exit-help.js';
import { CliError, ExitStatus, formatTable, toJson, type CommandContext } from './output.js';

const LAB_HELP = `
Description:
  A lab is a containerlab topology file that weft realises on plain network namespaces instead
  of containers: no images are pulled, every node is a namespace of this machine running the
  Debian binaries (weft, FRR, BIRD, ping, nft). Of containerlab's schema weft takes:
    kinds linux, bridge, host (a namespace standing in for the lab host: weft never touches
    this machine's own network) and frr (FRR, daemons from extras.frr.daemons); topology.defaults, topology.kinds.<kind>,
    topology.groups.<group> and a node's group, inherited as containerlab does (node > group >
    kind > defaults; exec and binds appended, env/labels/sysctls merged); image, cmd (the
    node's main process), exec, env, labels, sysctls; startup-config and binds for FRR images
    (image name with "frr": /etc/frr/frr.conf, /etc/frr/daemons) and BIRD images ("bird":
    /etc/bird/bird.conf, /etc/bird.conf); links in both syntaxes (["a:eth1", "b:eth1"], or
    type: veth with endpoints [{node, interface, mac}]) with mtu, vars, ipv4/ipv6 per end;
    host:IF ends (into the lab-host namespace) and mgmt-net:IF ends (ports of a bridge node
    mgmt-net). Container-only fields (ports, memory, restart-policy ...) are accepted with a
    note. Refused, with the node and field: other kinds (nokia_srlinux, ceos, vr-* ...),
    network OS images, binds of other files, a startup-config for an image without FRR/BIRD,
    entrypoint, stages, macvlan/vxlan/dummy links.
  weft's own settings live under the top-level key x-weft (see the comment at the top of each
  file in labs/):

    x-weft.defaults   agent settings of every host: asn, pools, timers, mesh, agent (raw config)
    x-weft.hosts      nodes that run \`weft agent\`: address (IPv4 with prefix length) and/or
                      address6 (IPv6 with prefix length), interface (default eth1) - or, for
                      several uplinks, interfaces: [{name, address, address6}, ...] - blocks
                      (IPv4 and/or IPv6), asn, mesh, peers, agent
    x-weft.pods       pods: host, address and/or address6 (inside the host's blocks of that
                      family); the lab makes the pod's eth0 (a veth to its host, default routes
                      via 169.254.1.1 and fe80::ecee:eeff:feee:eeee on the host's end)
    x-weft.routers    nodes with IPv4 and IPv6 forwarding on (hosts and ToRs have it anyway)
    x-weft.tors       nodes running FRR (zebra + bgpd): frr (bgpd.conf text), zebra
    x-weft.expect     which ping pairs must pass or fail: sameHost, sameSubnet, crossSubnet, and
                      ipv4: {...} / ipv6: {...} to set them for one family
    x-weft.variants   named changes (encapsulation, expect), chosen with --variant

Subcommands:
  up FILE       namespaces (wl-<random id>-<node>), bridges, veth pairs, host addresses, pods,
                exec lines, FRR on the ToRs, one \`weft agent\` per host (detached; its config,
                control socket and log in the lab directory). Names and PIDs go to the state
                file <state dir>/<lab>.json as they are made; a failure removes what was made.
  down FILE     stops exactly the PIDs the state file records (SIGTERM, then SIGKILL) and deletes
                exactly its namespaces, then the state file and the lab directory.
  test FILE     up (unless already up), waits until every agent's sessions are Established and
                every other host's blocks are in its RIB, pings from every pod to every other pod
                over each family both have an address of (ping / ping -6 -c 1 -W 1, retried for
                --ping-window seconds), prints a matrix per family, and brings the lab down again
                unless --keep (a lab that was already up stays up). When the agents do not
                converge in time the matrix still runs, to show what works (exit 1 all the same).
                --fail NODE then sets every link between NODE and a host down (on NODE's side)
                during a continuous ping (every 50 ms) between the pods of different hosts,
                waits until no host routes through NODE, and reports each host's routes to the
                other blocks before and after, and each pair's loss; every pair must answer
                again and lose no more than the detection time + 1 s (per peer BFD's interval x
                multiplier when it has BFD, else the hold time). The links come up again
                afterwards. --fail-mode silent keeps NODE's links up and drops every frame on
                them instead (an nftables netdev table in NODE's namespace, removed afterwards):
                no carrier is lost, so only BFD (or the hold timer) detects it.
  status FILE   what is up: namespaces, processes, each agent's sessions and missing blocks.

  A lab is named by its name, plus -VARIANT (or -ENCAPSULATION) when one is chosen, so a
  variant can be up next to the plain lab. Run weft lab as root.

Ping matrix:
  ok     answered, as expected          FAIL   no answer, but it should pass
  x      no answer, as expected         PASS!  answered, but it should have failed

Examples:
  weft lab up labs/rack-l2.clab.yml
  ip netns exec wl-<id>-pod1 ping 10.244.2.2
  weft status -s /run/weft/labs/rack-l2/h1.sock
  weft lab down labs/rack-l2.clab.yml
  weft lab test labs/cross-subnet.clab.yml
  weft lab test labs/cross-subnet.clab.yml --encapsulation never    cross-subnet pairs must fail
  weft lab test labs/racks-tor.clab.yml --json --keep
  weft lab test labs/dual-stack.clab.yml                             ping and ping -6 matrices
  weft lab test labs/dual-tor.clab.yml --fail tor1                   loss while a ToR is down
  weft lab test labs/dual-tor.clab.yml --fail tor1 --fail-mode silent   a ToR that stops answering
`;

interface CommonOpts {
  stateDir: string;
  variant?: string;
  encapsulation?: Encapsulation;
}

function rootOnly(): void {
  if (process.getuid?.() !== 0) throw new CliError('weft lab needs root (it creates network namespaces)', ExitStatus.USAGE);
}

/** Runs a lab action, turning its errors into CLI errors. */
async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message, ExitStatus.USAGE);
    if (e instanceof LabError) throw new CliError(e.message, ExitStatus.BAD_DATA);
    throw e;
  }
}

function common(cmd: Command): Command {
  return cmd
    .option('--state-dir <dir>', 'where state files and lab directories go', DEFAULT_STATE_DIR)
    .option('--variant <name>', 'use a variant from x-weft.variants (its encapsulation and expectations)')
    .addOption(
      new Option('--encapsulation <mode>', "force every pool's encapsulation (and use the variant that declares it, if any)").choices(['never', 'always', 'crossSubnet']),
    );
}

function cell(r: PingResult | undefined): string {
  if (r === undefined) return '-';
  if (r.result === 'pass') return r.ok ? 'ok' : 'PASS!';
  return r.ok ? 'x' : 'FAIL';
}

function expectText(e: TestReport['expect'][keyof TestReport['expect']]): string {
  return `sameHost ${e.sameHost}, sameSubnet ${e.sameSubnet}, crossSubnet ${e.crossSubnet}`;
}

/** One family's matrix, its summary line and the pairs not as expected. */
function matrixLines(results: readonly PingResult[], label: string): string[] {
  const out: string[] = [];
  const pods = [...new Set(results.flatMap((r) => [r.from, r.to]))];
  const byPair = new Map(results.map((r) => [`${r.from}>${r.to}`, r]));
  const hostOf = new Map(results.map((r) => [r.from, r.fromHost]));
  type Row = { pod: string };
  const table = formatTable<Row>(
    pods.map((pod) => ({ pod })),
    [
      { header: 'FROM \\ TO', value: (r) => `${r.pod} (${hostOf.get(r.pod) ?? '?'})` },
      ...pods.map((to) => ({ header: to, value: (r: Row) => cell(byPair.get(`${r.pod}>${to}`)) })),
    ],
  );
  if (label) out.push('', label);
  out.push('', table.trimEnd());
  const s = summarise(results);
  out.push('', `${label ? `${label}: ` : ''}${s.pairs} pairs: ${s.passed} answered, ${s.failed} did not (${s.expectedFailures} expected to fail); ${s.unexpected === 0 ? 'all as expected' : `${s.unexpected} NOT as expected`}`);
  for (const r of results.filter((x) => !x.ok)) {
    const why = r.result === 'fail' ? `no answer within ${(r.ms / 1000).toFixed(1)} s (${r.attempts} tries)` : 'answered';
    out.push(`  ${r.from} -> ${r.to} ${r.address} (${r.relation}, ${r.fromHost} -> ${r.toHost}): expected ${r.expected}, ${why}`);
  }
  return out;
}

/** The --fail check: the routes before and after, and each pair's loss. */
export function failoverLines(f: FailoverReport): string[] {
  const hops = (n: FailoverReport['before'][number]['nexthops']) => (n.length === 0 ? 'no route' : n.map((h) => `via ${h.via} dev ${h.dev}`).join(', '));
  const out = ['', `failover: ${f.node} ${f.mode === 'silent' ? 'silent, links up' : 'down'} (${f.links.join(', ')}); ${f.convergedMs === undefined ? `routes through ${f.node} never went` : `routes off ${f.node} on every host after ${(f.convergedMs / 1000).toFixed(1)} s`} (detection time ${f.detectionMs / 1000} s)`];
  const after = new Map(f.after.map((r) => [`${r.host} ${r.block}`, r]));
  out.push(
    '',
    formatTable(f.before, [
      { header: 'HOST', value: (r) => r.host },
      { header: 'BLOCK', value: (r) => r.block },
      { header: 'BEFORE', value: (r) => hops(r.nexthops) },
      { header: 'AFTER', value: (r) => hops(after.get(`${r.host} ${r.block}`)?.nexthops ?? []) },
    ]).trimEnd(),
    '',
    formatTable(f.pairs, [
      { header: 'PAIR', value: (p) => `${p.from} -> ${p.to}` },
      { header: 'ADDRESS', value: (p) => p.address },
      { header: 'SENT', value: (p) => p.sent, right: true },
      { header: 'LOST', value: (p) => p.lost, right: true },
      { header: 'LONGEST GAP', value: (p) => `${p.longestGapMs} ms`, right: true },
    ]).trimEnd(),
    '',
    `largest gap ${(f.maxGapMs / 1000).toFixed(2)} s at one ping every ${f.intervalMs} ms; ${f.ok ? 'within the detection time' : 'NOT as expected:'}`,
  );
  for (const p of f.problems) out.push(`  ${p}`);
  return out;
}

export function formatReport(rep: TestReport): string {
  const out: string[] = [];
  const e = rep.expect;
  const same = expectText(e.ipv4) === expectText(e.ipv6);
  const expectation = rep.results.length === 0 ? '' : `: expect ${same ? expectText(e.ipv4) : `IPv4 ${expectText(e.ipv4)}; IPv6 ${expectText(e.ipv6)}`}`;
  out.push(`lab ${rep.key}${rep.variant ? ` (variant ${rep.variant})` : ''}${expectation}`);
  if (rep.error !== undefined) out.push('', rep.error);
  if (rep.results.length > 0) {
    // One matrix per family; titled only when there are IPv6 pairs (an IPv4 lab reads as before).
    const families = [...new Set(rep.results.map((r) => r.family))].sort();
    const titled = families.some((f) => f === 6);
    for (const f of families) out.push(...matrixLines(rep.results.filter((r) => r.family === f), titled ? `IPv${f}` : ''));
  } else if (rep.error === undefined && rep.checks === undefined) {
    out.push('', 'no pods: nothing to ping');
  }
  if (rep.checks) out.push('', ...clabCheckLines(rep.checks));
  if (rep.failover) out.push(...failoverLines(rep.failover));
  for (const p of rep.down?.problems ?? []) out.push(`down: ${p}`);
  return `${out.join('\n')}\n`;
}

export function registerLab(program: Command, ctx: CommandContext): void {
  const progress = (l: string) => ctx.io.err(`weft lab: ${l}\n`);
  const lab = program
    .command('lab')
    .summary('containerlab topologies on network namespaces: up, down, test (ping matrix), status')
    .description('Realise a containerlab topology (labs/*.clab.yml) on network namespaces, with weft agents, FRR ToRs and pods.')
    .addHelpText('after', LAB_HELP);
  withExitHelp(lab, { 0: 'done / healthy (see each subcommand)', 1: 'unhealthy or a failed check (see each subcommand)', 2: 'usage error, or the topology file is invalid or refused (each problem with its path in the file)' });

  const up = common(lab.command('up').argument('<file>', 'the topology (.clab.yml)').description('Bring a lab up.'));
  withExitHelp(up, {
    0: 'the lab is up: namespaces, links, daemons with their config applied, agents answering',
    1: 'it failed to come up, or was interrupted (Ctrl-C / SIGTERM); what was made is removed again',
    2: 'usage error, or the topology file is invalid or refused (each problem with its path in the file)',
  });
  up.action(async (file: string, o: CommonOpts) => {
    rootOnly();
    const { labUp } = await import('../lab/up.js');
    await guarded(() => labUp(file, { ...o, progress }));
    ctx.exitStatus = ExitStatus.OK;
  });

  withExitHelp(common(lab.command('down').argument('<file>', 'the topology (.clab.yml), or a lab name as `weft lab up` printed it').description('Bring a lab down.')), {
    0: 'the lab is down: every recorded process ended, every namespace deleted',
    1: 'something of the lab could not be removed (listed), or no such lab is up',
  })
    .option('--keep-logs', 'keep the lab directory (agent configs and logs, FRR logs)')
    .action(async (file: string, o: CommonOpts & { keepLogs?: boolean }) => {
      rootOnly();
      const { labDown } = await scenario();
      const { state, result } = await guarded(() => labDown(file, { ...o, progress }));
      if (result.problems.length > 0) throw new CliError(`lab ${state.key} is not fully down:\n${result.problems.map((p) => `  - ${p}`).join('\n')}`, ExitStatus.BAD_DATA);
      progress(`lab ${state.key} is down`);
      ctx.exitStatus = ExitStatus.OK;
    });

  withExitHelp(common(lab.command('test').argument('<file>', 'the topology (.clab.yml)').description('Bring a lab up, wait for the agents, run the pod ping matrix, bring it down.')), {
    0: 'every check as expected: pod pairs, FRR/BIRD daemons running with their config and their BGP/OSPF sessions up, addressed links answering',
    1: 'a check failed, the agents did not converge, the lab failed to come up, or nothing was tested (no pods, daemons or addressed links)',
  })
    .option('--keep', 'leave the lab up afterwards')
    .option('--json', 'print the report as one JSON object')
    .option('--timeout <seconds>', 'how long to wait for the agents to converge', '60')
    .option('--ping-window <seconds>', 'how long each pair is retried before it counts as failed', '5')
    .option('--fail <node>', 'after the matrix, take NODE (a ToR) down under a continuous ping between the pods of different hosts; report the loss')
    .addOption(new Option('--fail-mode <mode>', 'how --fail takes NODE down: its links go down, or they stay up and it drops everything').choices(['link-down', 'silent']).default('link-down'))
    .action(async (file: string, o: CommonOpts & { keep?: boolean; json?: boolean; timeout: string; pingWindow: string; fail?: string; failMode: FailMode }) => {
      rootOnly();
      const secs = (v: string, name: string) => {
        const n = Number(v);
        if (!Number.isFinite(n) || n <= 0) throw new CliError(`${name} must be a positive number of seconds (got ${v})`);
        return n * 1000;
      };
      const { labTest } = await scenario();
      const rep = await guarded(() =>
        labTest(file, { ...o, progress, convergeTimeoutMs: secs(o.timeout, '--timeout'), pingWindowMs: secs(o.pingWindow, '--ping-window') }),
      );
      ctx.io.out(o.json ? `${toJson(rep)}\n` : formatReport(rep));
      ctx.exitStatus = rep.ok ? ExitStatus.OK : ExitStatus.BAD_DATA;
    });

  withExitHelp(common(lab.command('status').argument('<file>', 'the topology (.clab.yml), or a lab name').description('Show what of a lab is up.')), {
    0: 'healthy: every namespace exists, every recorded process runs, every agent answers, every FRR/BIRD node runs with its config applied',
    1: 'unhealthy: a namespace is missing, a process or daemon is dead, an agent does not answer, a node\'s config is not applied, or no such lab is up',
  })
    .option('--json', 'print it as one JSON object')
    .action(async (file: string, o: CommonOpts & { json?: boolean }) => {
      const { findState } = await scenario();
      const { state, topology } = await guarded(async () => findState(file, o));
      const namespaces = state.namespaces.map((n) => ({ ...n, exists: nsExists(n.ns) }));
      const processes = state.processes.map((p) => ({ ...p, running: !isGone(p) }));
      const agents = await Promise.all(
        state.agents.map(async (a) => {
          if (topology === undefined) return { host: a.host, socket: a.socket };
          try {
            return { socket: a.socket, ...(await hostConvergence(topology, state, a)) };
          } catch (e) {
            return { host: a.host, socket: a.socket, error: (e as Error).message.split('\n')[0] };
          }
        }),
      );
      const daemons = await Promise.all((state.daemons ?? []).map((d) => daemonHealth(state, d)));
      const unhealthy = [
        ...namespaces.filter((n) => !n.exists).map((n) => `namespace ${n.ns} (${n.node}) is missing`),
        ...processes.filter((p) => !p.running).map((p) => `${p.label} (pid ${p.pid}) is not running`),
        ...agents.flatMap((a) => ('error' in a && a.error !== undefined ? [`agent ${a.host}: ${a.error}`] : [])),
        ...daemons.flatMap((d) => d.problems.filter((p) => !p.endsWith('is not running')).map((p) => `${d.node}: ${p}`)),
        ...(state.status === 'up' ? [] : [`the lab is ${state.status} (weft lab up did not finish)`]),
      ];
      ctx.exitStatus = unhealthy.length === 0 ? ExitStatus.OK : ExitStatus.BAD_DATA;
      if (o.json) {
        ctx.io.out(`${toJson({ key: state.key, id: state.id, status: state.status, dir: state.dir, healthy: unhealthy.length === 0, problems: unhealthy, namespaces, processes, agents, daemons })}\n`);
        return;
      }
      const lines = [`lab ${state.key} (${state.status}, since ${state.createdAt}), dir ${state.dir}`, ''];
      lines.push(formatTable(namespaces, [
        { header: 'NODE', value: (n) => n.node },
        { header: 'ROLE', value: (n) => n.role },
        { header: 'NAMESPACE', value: (n) => n.ns },
        { header: 'EXISTS', value: (n) => (n.exists ? 'yes' : 'NO') },
      ]).trimEnd());
      if (processes.length > 0) {
        lines.push('', formatTable(processes, [
          { header: 'PID', value: (p) => p.pid, right: true },
          { header: 'PROCESS', value: (p) => p.label },
          { header: 'RUNNING', value: (p) => (p.running ? 'yes' : 'NO') },
          { header: 'LOG', value: (p) => p.log },
        ]).trimEnd());
      }
      for (const a of agents) {
        if ('error' in a) lines.push(`${a.host}: ${a.error}`);
        else if ('converged' in a) {
          lines.push(`${a.host}: ${a.established}/${a.peers} sessions Established${a.down.length ? ` (not: ${a.down.join(', ')})` : ''}; ${a.missing.length ? `missing blocks ${a.missing.join(' ')}` : 'all blocks known'}  [weft status -s ${a.socket}]`);
        }
      }
      for (const d of daemons) lines.push(`${d.node}: ${d.type} ${d.ok ? (d.type === 'cmd' ? 'running' : 'running, config applied') : `NOT healthy: ${d.problems.join('; ')}`}`);
      lines.push('', unhealthy.length === 0 ? 'healthy' : `UNHEALTHY:\n${unhealthy.map((p) => `  - ${p}`).join('\n')}`);
      ctx.io.out(`${lines.join('\n')}\n`);
    });
}

#!/usr/bin/env node
/**
 * The `weft` program: a commander 14 command tree. `main(argv)` runs one command line (the
 * arguments after the program name) and returns the exit status; it never calls process.exit,
 * so tests drive it directly. The shim at the bottom runs it when this file is the program.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { registerDecode } from './decode.js';
import { registerPeer } from './peer.js';
import { registerAgent } from './agent.js';
import { registerStatus } from './status.js';
import { registerRoutes } from './routes.js';
import { registerNeighbor } from './neighbor.js';
import { registerExplain } from './explain.js';
import { registerBlocks } from './blocks.js';
import { registerNode } from './node.js';
import { registerConfigCheck } from './config-check.js';
import { registerLab } from './lab.js';
import { registerInstall } from './install.js';
import { registerCompletion } from './completion.js';
import { CliError, ExitStatus, type CliIo, type CommandContext } from './output.js';

const VERSION = '0.1.0';

const PROGRAM_HELP = `
Exit status:
  0  success
  1  unhealthy or a failed check: a configured peer not Established (status, neighbor), no route
     for the prefix or address (routes), the agent not reachable, bad data (decode: a BGP message
     that does not frame or decode)
  2  usage or configuration error: unknown command or option, missing or unreadable file,
     invalid configuration file, malformed input file
  3  internal error (a bug in weft; WEFT_DEBUG=1 prints the stack trace)

Examples:
  weft decode capture.pcap                  BGP messages in a capture, as JSON lines
  weft decode --pretty proto-fixtures/demo.hex
  weft agent -c /etc/weft/weft.yaml         run the routing daemon on this host
  weft status                               its peers; weft routes: its Loc-RIB
  weft neighbor host-b                      one peer in detail: capabilities, counters, NOTIFICATIONs
  weft explain 10.244.7.9                   which route, node and shape carry one address
  weft lab test labs/rack-l2.clab.yml       a lab on network namespaces, with a ping matrix
  weft help decode                          the full description of a command

Environment:
  WEFT_DEBUG=1  print stack traces of internal errors
`;

/** The process's own streams. */
export const processIo: CliIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  },
  stdinIsTty: () => process.stdin.isTTY === true,
};

/** Builds the command tree; each call makes a fresh one (commander keeps parse state). */
export function buildProgram(ctx: CommandContext): Command {
  const program = new Command();
  program
    .name('weft')
    .description(
      'weft is a BGP speaker that turns Linux hosts into one routed container network: an iBGP mesh with route reflectors ' +
        'and eBGP top-of-rack peers, with routes written to the kernel as direct, VXLAN or IP-in-IP routes. ' +
        'This program runs its commands; each has its own --help.',
    )
    .version(VERSION, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'print this help and exit')
    .helpCommand('help [command]', 'print the help of a command')
    .configureOutput({ writeOut: (t) => ctx.io.out(t), writeErr: (t) => ctx.io.err(t) })
    .configureHelp({ sortSubcommands: false, showGlobalOptions: false })
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText('after', PROGRAM_HELP);
  registerDecode(program, ctx);
  registerPeer(program, ctx);
  registerAgent(program, ctx);
  registerStatus(program, ctx);
  registerRoutes(program, ctx);
  registerNeighbor(program, ctx);
  registerExplain(program, ctx);
  registerBlocks(program, ctx);
  registerNode(program, ctx);
  registerConfigCheck(program, ctx);
  registerLab(program, ctx);
  registerInstall(program, ctx);
  registerCompletion(program, ctx);
  return program;
}

/** Runs one command line (without "node" and the script). Returns the exit status. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const ctx: CommandContext = { io, exitStatus: ExitStatus.OK };
  const program = buildProgram(ctx);
  try {
    if (argv.length === 0) {
      program.outputHelp({ error: true });
      return ExitStatus.USAGE;
    }
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitStatus;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version print and end with 0; every other commander error is a usage error
      // (commander has already printed the message).
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return ExitStatus.OK;
      return e.exitCode === 0 ? ExitStatus.OK : ExitStatus.USAGE;
    }
    if (e instanceof CliError) {
      io.err(`weft: ${e.message}\n`);
      return e.exitStatus;
    }
    io.err(`weft: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    if (process.env.WEFT_DEBUG && e instanceof Error && e.stack) io.err(`${e.stack}\n`);
    else io.err('weft: (this is a bug; run with WEFT_DEBUG=1 for the stack trace)\n');
    return ExitStatus.INTERNAL;
  }
}

// ---------------------------------------------------------------- bin shim

function isProgram(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isProgram()) {
  // `weft decode x | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  void main(process.argv.slice(2)).then((status) => {
    process.exitCode = status;
  });
}

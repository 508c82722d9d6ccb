/**
 * The "Exit status:" block every weft command's --help ends with, and the JSON form of an error
 * under --json. One helper so that scripts can rely on one scheme everywhere:
 *   0  success / healthy
 *   1  unhealthy or a failed check (a peer not Established, a route not found, the agent not running)
 *   2  usage or configuration error (bad arguments, unreadable or invalid config file)
 *   3  internal error (a bug in weft)
 */
import type { Command } from 'commander';
import { CliError, ExitStatus, toJson, type CommandContext } from './output.js';

/** What each exit status means for one command; 2 and 3 get the common wording when left out. */
export type ExitCodeHelp = Partial<Record<0 | 1 | 2 | 3, string>>;

const DEFAULT_EXIT_HELP: Required<Pick<ExitCodeHelp, 2 | 3>> = {
  2: 'usage or configuration error: unknown option, bad argument, unreadable or invalid file',
  3: 'internal error (a bug in weft; WEFT_DEBUG=1 prints the stack trace)',
};

/** The text of the block: "Exit status:" then one line per status, in numeric order. */
export function exitHelpText(codes: ExitCodeHelp): string {
  const all: ExitCodeHelp = { ...DEFAULT_EXIT_HELP, ...codes };
  const lines = ([0, 1, 2, 3] as const)
    .filter((k) => all[k] !== undefined)
    .map((k) => `  ${k}  ${all[k]!.replace(/\n/g, '\n     ')}`);
  return `\nExit status:\n${lines.join('\n')}\n`;
}

/**
 * Adds the "Exit status:" block after the command's help (after any text already added).
 * Returns the command, so it chains: `withExitHelp(program.command('x')..., { 0: ..., 1: ... })`.
 */
export function withExitHelp(cmd: Command, codes: ExitCodeHelp): Command {
  return cmd.addHelpText('after', exitHelpText(codes));
}

/** The stable error codes of `{"error": {"code", "message"}}` under --json. */
export type JsonErrorCode =
  | 'usage'
  | 'config'
  | 'unreachable'
  | 'unknown-peer'
  | 'not-found'
  | 'agent-error'
  | 'unhealthy'
  | 'internal';

/** The one JSON line an error is printed as under --json (on standard output, so `| jq` sees it). */
export function jsonErrorLine(code: string, message: string): string {
  return `${toJson({ error: { code, message } })}\n`;
}

function codeForStatus(status: number): JsonErrorCode {
  if (status === ExitStatus.USAGE) return 'usage';
  if (status === ExitStatus.INTERNAL) return 'internal';
  return 'agent-error';
}

/**
 * Runs a command's action so that, when `json` is on, every error comes out as one JSON object
 * on stdout with the same exit status it would have had as text (CliError: its status;
 * anything else: 3). Without --json errors propagate to `main`, which prints them as text.
 */
export async function runJsonAware(ctx: CommandContext, json: boolean | undefined, action: () => Promise<void>): Promise<void> {
  if (!json) return action();
  try {
    await action();
  } catch (e) {
    if (e instanceof CliError) {
      ctx.io.out(jsonErrorLine(e.code ?? codeForStatus(e.exitStatus), e.message));
      ctx.exitStatus = e.exitStatus;
      return;
    }
    ctx.io.out(jsonErrorLine('internal', e instanceof Error ? e.message : String(e)));
    ctx.exitStatus = ExitStatus.INTERNAL;
  }
}

/**
 * Commander's own errors (unknown option, too many arguments, a missing option value) of this
 * command come out as JSON when --json was among the options parsed so far; the exit status
 * stays 2 (main maps every commander error to a usage error).
 */
export function jsonUsageErrors(cmd: Command, ctx: CommandContext): Command {
  return cmd.configureOutput({
    writeOut: (t) => ctx.io.out(t),
    // Under --json the error itself went to stdout as JSON: commander's "(run with --help for
    // usage)" hint would only be noise on stderr.
    writeErr: (t) => (cmd.opts().json === true ? undefined : ctx.io.err(t)),
    outputError: (text, write) => {
      if (cmd.opts().json === true) ctx.io.out(jsonErrorLine('usage', text.trim().replace(/^error: /, '')));
      else write(text);
    },
  });
}

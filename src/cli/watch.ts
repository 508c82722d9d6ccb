/**
 * `--watch [SECONDS]` of `weft status` and `weft routes`: the command's output again every
 * interval until Ctrl-C (which ends it with exit status 0). On a terminal each frame clears the
 * screen first; otherwise frames follow each other under a time line. With --json each frame is
 * one JSON document on one line (an error too: {"error": ...}), so `| jq -c` follows it.
 * A hidden `--count N` stops after N frames (tests; `watch`-like one-shots in scripts).
 *
 * SECONDS is optional, so commander takes whatever word follows --watch as its value:
 * `weft routes --watch 10.244.1.0/26` would read the prefix as the interval. A preAction hook
 * gives such a word back to the command's positional argument when it is not a number and the
 * command would take it there (routes: a prefix or an address, and none given already).
 */
import { Option, type Command } from 'commander';
import { jsonErrorLine } from './exit-help.js';
import { CliError, ExitStatus, toJson, type CommandContext } from './output.js';

export interface WatchOptions {
  watch?: string | true;
  count?: string;
}

/** One frame: the text or JSON document to print and the exit status it would have alone. */
export interface Frame {
  text: string;
  json: unknown;
  status: number;
}

export const DEFAULT_WATCH_SECONDS = 2;

/** A decimal number as an interval is written (2, 0.5, 1e1, -1): what --watch keeps as its value. */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * Adds `-w, --watch [seconds]` and the hidden `--count <n>` to a command. `positional` says
 * whether a word is one the command's first (optional) argument takes: a non-numeric word given
 * to --watch then goes there (when that argument was not given) and --watch keeps its default.
 * Any other non-numeric word stays the value of --watch, which watchPlan refuses naming it.
 */
export function addWatchOptions(cmd: Command, positional?: (word: string) => boolean): Command {
  cmd
    .option('-w, --watch [seconds]', `redraw every SECONDS (default ${DEFAULT_WATCH_SECONDS}) until Ctrl-C`)
    .addOption(new Option('--count <n>', 'stop after N frames').hideHelp());
  if (positional) {
    cmd.hook('preAction', (_hooked, action) => {
      const w = action.opts<WatchOptions>().watch;
      if (typeof w !== 'string' || NUMBER.test(w) || action.processedArgs[0] !== undefined || !positional(w)) return;
      action.processedArgs[0] = w;
      action.args.unshift(w);
      action.setOptionValueWithSource('watch', true, 'cli');
    });
  }
  return cmd;
}

/** The interval in ms and the frame limit; a CliError (exit 2) for a bad value. */
export function watchPlan(o: WatchOptions): { intervalMs: number; count: number | undefined } | undefined {
  if (o.watch === undefined) return undefined;
  const seconds = o.watch === true ? DEFAULT_WATCH_SECONDS : NUMBER.test(o.watch) ? Number(o.watch) : Number.NaN;
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 86400) {
    throw new CliError(`--watch takes a number of seconds > 0 (like 2 or 0.5), got ${JSON.stringify(o.watch)}`, ExitStatus.USAGE, 'usage');
  }
  let count: number | undefined;
  if (o.count !== undefined) {
    count = Number(o.count);
    if (!Number.isInteger(count) || count < 1) throw new CliError(`--count takes a whole number >= 1, got ${JSON.stringify(o.count)}`, ExitStatus.USAGE, 'usage');
  }
  return { intervalMs: Math.round(seconds * 1000), count };
}

const CLEAR = '\x1b[H\x1b[2J';

/**
 * Runs `frame` every interval. Ends on SIGINT (status 0) or after `count` frames (the status of
 * the last frame). A frame that fails with a CliError (the agent went away) is shown and the
 * watch goes on, as `watch` does.
 */
export async function runWatch(
  ctx: CommandContext,
  plan: { intervalMs: number; count: number | undefined },
  o: { json?: boolean; title: string },
  frame: () => Promise<Frame>,
): Promise<void> {
  const tty = ctx.io.stdoutIsTty?.() ?? process.stdout.isTTY === true;
  let interrupted = false;
  let wake: (() => void) | undefined;
  const onSigint = () => {
    interrupted = true;
    wake?.();
  };
  process.on('SIGINT', onSigint);
  try {
    for (let n = 1; ; n++) {
      let status: number;
      let body: string;
      try {
        const f = await frame();
        status = f.status;
        body = o.json ? `${toJson(f.json)}\n` : f.text;
      } catch (e) {
        if (!(e instanceof CliError)) throw e;
        status = e.exitStatus;
        body = o.json ? jsonErrorLine(e.code ?? 'agent-error', e.message) : `weft: ${e.message}\n`;
      }
      if (interrupted) break;
      if (o.json) ctx.io.out(body);
      else {
        const head = `${o.title}, every ${plan.intervalMs / 1000}s: ${new Date().toISOString().slice(0, 19)}Z (Ctrl-C ends)\n\n`;
        ctx.io.out(`${tty ? CLEAR : n > 1 ? '\n' : ''}${head}${body}`);
      }
      ctx.exitStatus = status;
      if (plan.count !== undefined && n >= plan.count) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, plan.intervalMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
        if (interrupted) wake();
      });
      wake = undefined;
      if (interrupted) break;
    }
    // Ctrl-C is how a watch ends: not a failure.
    ctx.exitStatus = ExitStatus.OK;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

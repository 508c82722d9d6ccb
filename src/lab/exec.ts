// Running commands: no shell, a timeout, captured output, and errors that carry the command line
// and its stderr. `inNs` runs the command inside a network namespace. Used by `weft lab` and, through
// test/helpers/exec.ts, by the live tests.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface RunOptions {
  /** Kill the command (SIGKILL) and fail after this long. Default 15 s. */
  timeoutMs?: number;
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Exit codes that count as success. Default [0]. */
  okCodes?: number[];
  /**
   * Send stdout+stderr to this file (appended) instead of capturing them. Use it for daemons that
   * fork: a daemon child that keeps an inherited pipe open would otherwise keep us waiting.
   */
  logFile?: string;
  env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export class ExecError extends Error {
  constructor(
    message: string,
    readonly cmdline: string,
    readonly code: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'ExecError';
  }
}

/** A shell-like rendering of argv, for messages only. */
export function cmdline(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The last `lines` lines of a text file ('' when it is missing): for error messages. */
export function tail(path: string, lines = 25): string {
  try {
    const text = readFileSync(path, 'utf8').trimEnd();
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** An error's first message line (the rest is usually output that a log tail shows anyway). */
export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

function lastLines(text: string, lines = 25): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const okCodes = opts.okCodes ?? [0];
  const line = cmdline(cmd, args);
  return new Promise<RunResult>((resolve, reject) => {
    let fd: number | undefined;
    if (opts.logFile !== undefined) fd = openSync(opts.logFile, 'a');
    const stdinMode = opts.input === undefined ? 'ignore' : 'pipe';
    const child = spawn(cmd, args, {
      stdio: fd === undefined ? [stdinMode, 'pipe', 'pipe'] : [stdinMode, fd, fd],
      env: opts.env ?? process.env,
    });
    if (fd !== undefined) closeSync(fd);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new ExecError(`${line}: ${err.message}`, line, null, stdout, stderr));
    });
    // With a log file there are no pipes to drain, so 'exit' is enough; otherwise wait for 'close'.
    child.on(fd === undefined ? 'close' : 'exit', (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      if (opts.logFile !== undefined) stderr = tail(opts.logFile);
      if (code !== null && okCodes.includes(code)) {
        resolve({ stdout, stderr, code });
        return;
      }
      const why = timedOut ? `timed out after ${timeoutMs} ms` : code === null ? `killed by ${signal}` : `exit code ${code}`;
      const detail = lastLines(stderr) || lastLines(stdout);
      reject(new ExecError(`${line}: ${why}${detail ? `\n${detail}` : ''}`, line, code, stdout, stderr));
    });
  });
}

/** `ip netns exec NS cmd args...`: the command replaces `ip`, so a spawned pid is the command's pid. */
export function nsArgv(ns: string, cmd: string, args: readonly string[]): [string, string[]] {
  return ['ip', ['netns', 'exec', ns, cmd, ...args]];
}

export function inNs(ns: string, cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [c, a] = nsArgv(ns, cmd, args);
  return run(c, a, opts);
}

/**
 * How the iproute2 driver starts its helpers (`ip`/`bridge` batch streams, monitors, reads), so
 * that none outlives weft however weft ends, `kill -9` included (issue 10, item 9).
 *
 * - Parent-death signal: each helper is started as `setpriv --pdeathsig KILL -- ip ...`. setpriv
 *   (util-linux, always on Debian) sets PR_SET_PDEATHSIG and execs the tool, which keeps it (it is
 *   not set-user-ID): the kernel sends SIGKILL to the helper when the thread that forked it exits.
 *   libuv forks in the thread that calls uv_spawn, and node's child_process calls it from the main
 *   (event loop) thread, which lives as long as the process (measured: a helper survives worker
 *   threads and thread-pool work ending, and is gone ~1 ms after a `kill -9` of weft). Never spawn
 *   helpers from a worker thread: they would die with it. The PID stays the tool's (setpriv execs),
 *   so killing the child kills the tool. Costs ~2 ms per start (one more exec).
 *   A helper started in the instant between fork and setpriv's prctl, while weft is being killed,
 *   still escapes: the window is one exec long.
 * - Without setpriv (or where it cannot set the signal) helpers start as before, after one
 *   warning (process.emitWarning, code WEFT_NO_PDEATHSIG). WEFT_HELPERS_PDEATHSIG=off turns the
 *   signal off (tests of what `weft lab down` does after an old agent died).
 * - Every helper carries WEFT_HELPER_OF=<pid>:<start time> of the weft process in its environment:
 *   `weft lab down` finds the helpers a dead agent left behind by it (helperOwner()).
 */
import { execFile, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const HELPER_ENV = 'WEFT_HELPER_OF';

/** "<pid>:<start time>" of this process (field 22 of /proc/self/stat; '' where there is no /proc). */
function selfMark(): string {
  let start = '';
  try {
    const text = readFileSync('/proc/self/stat', 'utf8');
    start = text.slice(text.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    // no /proc: the PID alone
  }
  return `${process.pid}:${start}`;
}

let prefix: string[] | undefined;
let env: NodeJS.ProcessEnv | undefined;

/** What helpers are started through: ['setpriv', '--pdeathsig', 'KILL', '--'] or [] (decided once). */
function wrapper(): string[] {
  if (prefix !== undefined) return prefix;
  if (process.env.WEFT_HELPERS_PDEATHSIG === 'off') return (prefix = []);
  const argv = ['setpriv', '--pdeathsig', 'KILL', '--'];
  // Measured, not assumed: setpriv present and able to set the signal (util-linux >= 2.33), tried
  // on a program that is surely there (this node: `--version` returns in ~5 ms).
  const probe = spawnSync(argv[0], [...argv.slice(1), process.execPath, '--version'], { stdio: 'ignore', timeout: 5000 });
  if (probe.status === 0) return (prefix = argv);
  const why = probe.error ? probe.error.message : `exit ${probe.status ?? probe.signal}`;
  process.emitWarning(
    `setpriv --pdeathsig is not usable here (${why}): weft's ip/bridge helpers will not be killed with it if weft is killed (install util-linux)`,
    { code: 'WEFT_NO_PDEATHSIG' },
  );
  return (prefix = []);
}

function helperEnv(): NodeJS.ProcessEnv {
  env ??= { ...process.env, [HELPER_ENV]: selfMark() };
  return env;
}

/** Whether helpers get the parent-death signal (after the one-time check). */
export function pdeathsigActive(): boolean {
  return wrapper().length > 0;
}

/** child_process.spawn for a helper: parent-death signal and owner mark (see above). */
export function spawnHelper(tool: string, args: readonly string[], opts: SpawnOptions): ChildProcess {
  const w = wrapper();
  const [cmd, ...rest] = [...w, tool, ...args];
  return spawn(cmd, rest, { ...opts, env: helperEnv() });
}

/** child_process.execFile for a short-lived helper (a read): the same start, stdout as text. */
export function execHelper(tool: string, args: readonly string[], cb: (err: Error | null, stdout: string, stderr: string) => void): void {
  const w = wrapper();
  const [cmd, ...rest] = [...w, tool, ...args];
  execFile(cmd, rest, { maxBuffer: 1 << 30, encoding: 'utf8', env: helperEnv() }, (err, stdout, stderr) => cb(err, stdout, stderr));
}

/**
 * `weft install`: sets up a host for the weft that runs it. Writes the systemd unit (with
 * ExecStart pointing at this weft), the iproute2 protocol name (rt-protos.ts), a commented
 * configuration skeleton (never over an existing file) and the bash / zsh completions. --root
 * puts everything under a directory (a package build, a test); --dry-run only says what it would do.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { registerProtoName } from '../agent/kernel/rt-protos.js';
import { completionScript } from './completion.js';
import { withExitHelp } from './exit-help.js';
import { CliError, ExitStatus, type CommandContext } from './output.js';
import { DEFAULT_CONFIG_FILE } from './agent.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The package's root: dist/cli/ (installed) or src/cli/ (run from the sources) is two levels down. */
export const PACKAGE_ROOT = resolve(HERE, '..', '..');
/** The samples and the unit shipped in the package. */
export const PACKAGE_FILES = join(PACKAGE_ROOT, 'labs', 'package');

export interface InstallOptions {
  root: string;
  prefix: string;
  dryRun: boolean;
  /** The program ExecStart runs. */
  bin: string;
  /** Skip the unit (hosts without systemd). */
  unit: boolean;
}

export type InstallStep =
  | { type: 'file'; path: string; what: string; status: 'created' | 'updated' | 'unchanged' | 'kept' }
  | { type: 'proto'; path: string; status: 'present' | 'written' | 'conflict' | 'failed'; message?: string };

/**
 * The weft program a unit should start: the `weft` on the command line (npm's bin link), else
 * node with this package's main.js (a checkout, where main.js need not be executable).
 */
export function defaultBin(argv1: string | undefined = process.argv[1]): string {
  if (argv1 && basename(argv1) === 'weft') return resolve(argv1);
  return `${process.execPath} ${join(PACKAGE_ROOT, 'dist', 'cli', 'main.js')}`;
}

/** The shipped unit with ExecStart set to `bin agent` (the default configuration path). */
export function unitText(bin: string, template = readFileSync(join(PACKAGE_FILES, 'weft.service'), 'utf8')): string {
  if (!/^ExecStart=.*$/m.test(template)) throw new Error('the unit template has no ExecStart line');
  return template.replace(/^ExecStart=.*$/m, `ExecStart=${bin} agent`);
}

function under(root: string, path: string): string {
  return join(root, path);
}

/** Writes `text` to `path` unless it is there already (`keep`: never replaced) or identical. */
function putFile(path: string, text: string, what: string, keep: boolean, dryRun: boolean, mode: number): InstallStep {
  const old = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  const step = (status: 'created' | 'updated' | 'unchanged' | 'kept'): InstallStep => ({ type: 'file', path, what, status });
  if (old !== undefined && (keep || old === text)) return step(old === text ? 'unchanged' : 'kept');
  if (!dryRun) {
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, text, { mode });
    renameSync(tmp, path);
  }
  return step(old === undefined ? 'created' : 'updated');
}

/** Does the installation; every step is returned, the file steps in the order they were done. */
export function install(program: Command, o: InstallOptions): InstallStep[] {
  const steps: InstallStep[] = [];
  const cfg = under(o.root, DEFAULT_CONFIG_FILE);
  steps.push(putFile(cfg, readFileSync(join(PACKAGE_FILES, 'weft.yaml'), 'utf8'), 'configuration skeleton (edit it)', true, o.dryRun, 0o640));
  steps.push(putFile(join(dirname(cfg), 'nodes.yaml.sample'), readFileSync(join(PACKAGE_FILES, 'nodes.yaml'), 'utf8'), 'sample mesh nodes file', false, o.dryRun, 0o644));
  if (o.unit) steps.push(putFile(under(o.root, 'etc/systemd/system/weft.service'), unitText(o.bin), 'systemd unit', false, o.dryRun, 0o644));
  const proto = registerProtoName(o.root, o.dryRun);
  steps.push(
    proto.type === 'conflict' || proto.type === 'failed'
      ? { type: 'proto', path: proto.file, status: proto.type, message: proto.message }
      : { type: 'proto', path: proto.file, status: proto.type === 'present' ? 'present' : 'written' },
  );
  const share = under(o.root, join(o.prefix, 'share'));
  steps.push(putFile(join(share, 'bash-completion', 'completions', 'weft'), completionScript(program, 'bash'), 'bash completion', false, o.dryRun, 0o644));
  steps.push(putFile(join(share, 'zsh', 'site-functions', '_weft'), completionScript(program, 'zsh'), 'zsh completion', false, o.dryRun, 0o644));
  return steps;
}

function stepLine(s: InstallStep, dryRun: boolean): string {
  const DRY: Record<string, string> = { created: 'would create', updated: 'would update', written: 'would write' };
  const would = (status: string) => (dryRun ? (DRY[status] ?? status) : status);
  if (s.type === 'file') {
    const note = s.status === 'kept' ? ' (exists: left as it is)' : '';
    return `${would(s.status).padEnd(14)}${s.path}  ${s.what}${note}`;
  }
  if (s.status === 'conflict' || s.status === 'failed') return `${s.status.padEnd(14)}${s.path}  ${s.message ?? ''}`;
  return `${would(s.status).padEnd(14)}${s.path}  route protocol name: ip route shows "proto weft"`;
}

const INSTALL_HELP = `
Description:
  Sets this host up for the weft that runs the command (installed with "npm install -g"):

    /etc/weft/weft.yaml                       a commented configuration skeleton; an existing
                                              file is never touched
    /etc/weft/nodes.yaml.sample               a mesh nodes file to copy (mesh.nodesFile)
    /etc/systemd/system/weft.service          the unit: "weft agent" with the default
                                              configuration, restarted on failure, with only
                                              CAP_NET_ADMIN, CAP_NET_BIND_SERVICE and CAP_NET_RAW
    /etc/iproute2/rt_protos.d/weft.conf       "249 weft", so ip route shows proto weft; not
                                              written when 249 already has another name (that
                                              conflict is reported, exit 1)
    PREFIX/share/bash-completion/completions/weft, PREFIX/share/zsh/site-functions/_weft

  The unit and the completions are replaced when they differ (local changes to the unit belong
  in a drop-in: systemctl edit weft). Nothing is started: afterwards edit the configuration,
  check it with "weft config check", then "systemctl daemon-reload; systemctl enable --now weft".
  The man pages come with the npm package (npm links them into PREFIX/share/man). The agent
  registers the protocol name by itself too, at start, when it is missing.

Examples:
  weft install --dry-run                  what would be written
  weft install                            on a host, as root
  weft install --root /tmp/pkgroot --prefix /usr --bin /usr/bin/weft   staging for a package
`;

export function registerInstall(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('install')
    .summary('install the systemd unit, the protocol name, a config skeleton and completions')
    .description('Set this host up for weft: systemd unit, iproute2 protocol name, configuration skeleton, shell completions.')
    .option('--root <dir>', 'write everything under this directory instead of / (staging, tests)', '/')
    .option('--prefix <dir>', 'where the completions go (PREFIX/share/...)', '/usr/local')
    .option('--bin <path>', 'the weft program the unit starts (default: the weft running this command)')
    .option('--no-unit', 'do not write the systemd unit (hosts without systemd)')
    .option('-n, --dry-run', 'print what would be written, write nothing')
    .addHelpText('after', INSTALL_HELP)
    .action((o: { root: string; prefix: string; bin?: string; unit: boolean; dryRun?: boolean }) => {
      for (const [name, v] of [['--root', o.root], ['--prefix', o.prefix], ['--bin', o.bin]] as const) {
        if (v !== undefined && !isAbsolute(v)) throw new CliError(`install: ${name} ${v}: must be an absolute path`, ExitStatus.USAGE);
      }
      const dryRun = o.dryRun === true;
      let steps: InstallStep[];
      try {
        steps = install(program, { root: o.root, prefix: o.prefix, dryRun, bin: o.bin ?? defaultBin(), unit: o.unit });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS') {
          throw new CliError(`install: ${err.message} (run it as root, or with --root DIR)`, ExitStatus.BAD_DATA);
        }
        throw e;
      }
      for (const s of steps) ctx.io.out(`${stepLine(s, dryRun)}\n`);
      const bad = steps.some((s) => s.type === 'proto' && (s.status === 'conflict' || s.status === 'failed'));
      if (!dryRun) {
        const check = o.root === '/' ? 'weft config check' : `weft config check ${join(o.root, DEFAULT_CONFIG_FILE)}`;
        ctx.io.out(`next: edit ${join(o.root, DEFAULT_CONFIG_FILE)}, run "${check}", then "systemctl daemon-reload; systemctl enable --now weft"\n`);
      }
      ctx.exitStatus = bad ? ExitStatus.BAD_DATA : ExitStatus.OK;
    });
  withExitHelp(cmd, {
    0: 'installed (or, with --dry-run, nothing stands in the way)',
    1: 'not everything was done: protocol 249 already has another name, or a file could not be written (not root?)',
  });
}

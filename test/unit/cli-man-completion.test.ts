// The man pages and shell completions generated from the commander tree (src/cli/man.ts,
// completion.ts): one page per top-level command, the sections of each --help, valid roff
// (groff's own warnings, when groff is here), package.json "man" in step with the commands, and
// the bash script run for real: what it offers for typed command lines.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { completionScript } from '../../src/cli/completion.js';
import { buildProgram, main } from '../../src/cli/main.js';
import { commandTree, helpSections } from '../../src/cli/man-tree.js';
import { manPages, roffEscape } from '../../src/cli/man.js';
import type { CliIo, CommandContext } from '../../src/cli/output.js';

const quiet: CliIo = { out: () => {}, err: () => {}, readStdin: async () => new Uint8Array(), stdinIsTty: () => true };
const program = () => buildProgram({ io: quiet, exitStatus: 0 } satisfies CommandContext);
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string; man: string[] };
const pages = manPages(commandTree(program()), pkg.version);
const page = (file: string) => pages.find((p) => p.file === file)!.text;

const dir = mkdtempSync(join(tmpdir(), 'weft-man-completion-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

describe('man pages', () => {
  it('weft(1) and one page per top-level command, each in package.json "man"', () => {
    const top = program()
      .commands.map((c) => c.name())
      .filter((c) => c !== 'help');
    expect(pages.map((p) => p.file).sort()).toEqual(['weft.1', ...top.map((c) => `weft-${c}.1`)].sort());
    const listed = pages.map((p) => `dist/man/${p.file}`);
    expect(
      [...pkg.man].sort(),
      `package.json "man" must list exactly the generated pages (a command was added or removed?): ${JSON.stringify(listed)}`,
    ).toEqual([...listed].sort());
  });

  it('carries the --help text: name, synopsis, options, the help sections, see also', () => {
    const agent = page('weft-agent.1');
    expect(agent).toMatch(/^\.TH WEFT\\-AGENT 1 "" "weft \d+\.\d+\.\d+" "weft manual"$/m);
    expect(agent).toMatch(/^\.SH NAME\nweft\\-agent \\- run the routing daemon/m);
    expect(agent).toMatch(/^\.SH SYNOPSIS\n\\fBweft agent\\fR \[options\]$/m);
    expect(agent).toMatch(/^\.TP\n\.B \\-c, \\-\\-config <file>\nthe YAML configuration file \(default: "\/etc\/weft\/weft\.yaml"\)$/m);
    for (const section of ['DESCRIPTION', 'OPTIONS', 'EXIT STATUS', 'EXAMPLES', 'FILES', 'SEE ALSO']) expect(agent).toContain(`\n.SH ${section}\n`);
    // Aligned text stays verbatim (no filling), running text is filled.
    expect(agent).toMatch(/\.nf\n0 {2}stopped by SIGTERM/);
    const root = page('weft.1');
    expect(root).toMatch(/^\.SH COMMANDS$/m);
    expect(root).toContain('(see \\fBweft\\-agent\\fR(1))');
    // A group's subcommands are sections of its page.
    expect(page('weft-config.1')).toMatch(/^\.SH "WEFT CONFIG CHECK"$/m);
    expect(page('weft-install.1')).toMatch(/\.SH EXIT STATUS\n\.PP\n\.nf\n0 {2}installed/);
  });

  it('escapes what roff would take as requests or escapes', () => {
    expect(roffEscape('.x\n\'y\na\\b -c')).toBe("\\&.x\n\\&'y\na\\eb \\-c");
    expect(helpSections('\nExit status:\n  0  ok\n\n  2  bad\nExamples:\n  weft x\n')).toEqual([
      { title: 'Exit status', lines: ['0  ok', '', '2  bad'] },
      { title: 'Examples', lines: ['weft x'] },
    ]);
  });

  it.skipIf(!has('groff'))('every page is clean roff for groff -man -ww (no warnings)', () => {
    for (const p of pages) {
      const f = join(dir, p.file);
      writeFileSync(f, p.text);
      const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', f], { encoding: 'utf8' });
      expect(r.status, p.file).toBe(0);
      expect(r.stderr, p.file).toBe('');
    }
  });
  if (!has('groff')) console.warn('cli-man-completion: groff not installed, roff warnings not checked');
});

/** What the bash script offers for `line` (the cursor at its end): COMPREPLY, one word per line. */
function bashComplete(script: string, line: string, cwd = dir): string[] {
  const words = line.split(' ');
  const f = join(dir, 'weft.bash');
  writeFileSync(f, script);
  const prog = `source ${JSON.stringify(f)}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _weft; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', prog], { encoding: 'utf8', cwd })
    .split('\n')
    .filter(Boolean);
}

describe('shell completion', () => {
  const bash = completionScript(program(), 'bash');
  const zsh = completionScript(program(), 'zsh');

  it('the bash script parses (bash -n)', () => {
    const r = spawnSync('bash', ['-n'], { input: bash, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it('offers commands, subcommands, options, choices and files as --help lists them', () => {
    writeFileSync(join(dir, 'host-a.yaml'), 'x');
    expect(bashComplete(bash, 'weft ')).toEqual(expect.arrayContaining(['agent', 'status', 'config', 'install', 'completion', 'help']));
    expect(bashComplete(bash, 'weft con')).toEqual(['config']);
    expect(bashComplete(bash, 'weft config ')).toEqual(['check']);
    expect(bashComplete(bash, 'weft agent --')).toEqual(expect.arrayContaining(['--config', '--log-level', '--withdraw', '--help']));
    expect(bashComplete(bash, 'weft agent --log-level ')).toEqual(['debug', 'info', 'warn', 'error', 'silent']);
    expect(bashComplete(bash, 'weft agent -c host')).toEqual(['host-a.yaml']);
    // The value of -c is skipped when finding the command: still `agent` options after it.
    expect(bashComplete(bash, 'weft agent -c x.yaml --wi')).toEqual(['--withdraw']);
    expect(bashComplete(bash, 'weft config check host')).toEqual(['host-a.yaml']);
    expect(bashComplete(bash, 'weft completion ')).toEqual(['bash', 'zsh']);
    expect(bashComplete(bash, 'weft explain 10.')).toEqual([]);
    expect(bashComplete(bash, 'weft install --dr')).toEqual(['--dry-run']);
  });

  it('the zsh script is a #compdef function with the same tables', () => {
    expect(zsh).toMatch(/^#compdef weft\n/);
    for (const t of ['_weft_commands()', '_weft_options()', '_weft_value()', '_weft_args()', 'compdef _weft weft', '_files']) expect(zsh).toContain(t);
    expect(zsh.match(/'agent\|--log-level'\) printf "%s\\n" 'choices:debug info warn error silent'/)).not.toBeNull();
  });

  it.skipIf(!has('zsh'))('the zsh script parses (zsh -n) and offers the same words (compadd and _files stubbed)', () => {
    const r = spawnSync('zsh', ['-n'], { input: zsh, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const f = join(dir, '_weft');
    writeFileSync(f, zsh);
    // Outside a completion widget: compadd prints its words (zsh filters by the prefix itself).
    const offered = (...words: string[]) =>
      execFileSync(
        'zsh',
        ['-f', '-c', `compadd() { [[ "$1" == -- ]] && shift; print -l -- "$@"; }; _files() { print -- '<files>'; }; compdef() { :; }; source ${JSON.stringify(f)}; words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}; _weft`],
        { encoding: 'utf8' },
      )
        .split('\n')
        .filter(Boolean);
    expect(offered('weft', 'agent', '--log-level', '')).toEqual(['debug', 'info', 'warn', 'error', 'silent']);
    expect(offered('weft', '')).toEqual(expect.arrayContaining(['agent', 'config', 'install', 'completion']));
    expect(offered('weft', 'config', 'check', '')).toEqual(['<files>']);
    expect(offered('weft', 'agent', '-c', 'x.yaml', '--')).toEqual(expect.arrayContaining(['--withdraw', '--log-level']));
  });
  if (!has('zsh')) console.warn('cli-man-completion: zsh not installed, its script is checked as text only');

  it('weft completion prints them; an unknown shell is a usage error naming the choices', async () => {
    let out = '';
    let err = '';
    const io: CliIo = { ...quiet, out: (t) => void (out += t), err: (t) => void (err += t) };
    expect(await main(['completion', 'bash'], io)).toBe(0);
    expect(out).toBe(bash);
    expect(await main(['completion', 'fish'], io)).toBe(2);
    expect(err).toMatch(/'fish' is invalid for argument 'shell'\. Allowed choices are bash, zsh/);
  });
});

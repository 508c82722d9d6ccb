import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { exitHelpText, jsonErrorLine, runJsonAware, withExitHelp } from '../../src/cli/exit-help.js';
import { buildProgram, main } from '../../src/cli/main.js';
import { CliError, ExitStatus, type CommandContext } from '../../src/cli/output.js';
import { captureIo } from '../helpers/cli-io.js';

function ctxCollect(): { ctx: CommandContext; text: { out: string } } {
  const io = captureIo();
  return { ctx: { io, exitStatus: 0 }, text: io.text };
}

describe('exit help', () => {
  it('lists every status in order, with the common 2 and 3 when not given', () => {
    const t = exitHelpText({ 1: 'unhealthy', 0: 'healthy' });
    expect(t).toBe(
      '\nExit status:\n  0  healthy\n  1  unhealthy\n' +
        '  2  usage or configuration error: unknown option, bad argument, unreadable or invalid file\n' +
        '  3  internal error (a bug in weft; WEFT_DEBUG=1 prints the stack trace)\n',
    );
  });
  it('is appended to a command help', () => {
    const cmd = withExitHelp(new Command('x'), { 0: 'fine', 2: 'bad' });
    let help = '';
    cmd.configureOutput({ writeOut: (s) => (help += s) });
    cmd.outputHelp();
    expect(help).toMatch(/Exit status:\n {2}0 {2}fine\n {2}2 {2}bad\n {2}3 {2}internal/);
  });
  it('prints errors as one JSON object under --json with the same status', async () => {
    const { ctx, text } = ctxCollect();
    await runJsonAware(ctx, true, async () => {
      throw new CliError('no such peer', 1, 'unknown-peer');
    });
    expect(ctx.exitStatus).toBe(1);
    expect(JSON.parse(text.out)).toEqual({ error: { code: 'unknown-peer', message: 'no such peer' } });
    const c2 = ctxCollect();
    await runJsonAware(c2.ctx, true, async () => {
      throw new TypeError('boom');
    });
    expect(c2.ctx.exitStatus).toBe(3);
    expect(JSON.parse(c2.text.out).error.code).toBe('internal');
    expect(jsonErrorLine('usage', 'x')).toBe('{"error":{"code":"usage","message":"x"}}\n');
  });
  it('lets errors through without --json', async () => {
    const { ctx } = ctxCollect();
    await expect(runJsonAware(ctx, false, async () => { throw new CliError('x', 2); })).rejects.toThrow('x');
  });
});

// ---------------------------------------------------------------- the whole command tree

/** Every command and subcommand of the program, as argv paths ([] is the program itself). */
function commandPaths(): string[][] {
  const program = buildProgram({ io: captureIo(), exitStatus: 0 });
  const paths: string[][] = [];
  const walk = (c: Command, path: string[]) => {
    paths.push(path);
    for (const s of c.commands) walk(s, [...path, s.name()]);
  };
  walk(program, []);
  return paths;
}

/** The "Exit status:" block of a help text as status -> text (continuation lines joined). */
function exitBlock(help: string): Map<number, string> {
  const parts = help.split('\nExit status:\n');
  expect(parts.length, 'exactly one "Exit status:" block').toBe(2);
  const entries = new Map<number, string>();
  let last: number | undefined;
  for (const line of parts[1].split('\n')) {
    const m = /^ {2}(\d) {2}(\S.*)$/.exec(line);
    if (m) {
      last = Number(m[1]);
      expect(entries.has(last), `status ${last} listed twice`).toBe(false);
      entries.set(last, m[2]);
    } else if (last !== undefined && /^ {5}\S/.test(line)) entries.set(last, `${entries.get(last)!} ${line.trim()}`);
    else break; // a blank line or the next section ends the block
  }
  return entries;
}

async function helpOf(path: string[]): Promise<string> {
  const io = captureIo();
  expect(await main([...path, '--help'], io), `weft ${path.join(' ')} --help`).toBe(0);
  return io.text.out;
}

/**
 * The commands that can fail a check (exit 1: unhealthy, refused, not found, bad data). The others
 * (daemons, validators, generators) only succeed or stop with 2/3. A new command must be put on one
 * side or the other here, which is the point.
 */
const CAN_FAIL_A_CHECK = new Set([
  '', 'decode', 'status', 'routes', 'neighbor', 'explain', 'advertise', 'withdraw', 'reload',
  'node', 'node list', 'node delete', 'lab', 'lab up', 'lab down', 'lab test', 'lab status', 'install',
]);
const NO_FAILED_CHECK = new Set(['peer', 'agent', 'config', 'config check', 'completion']);

describe('every command of the tree documents its exit statuses', () => {
  const paths = commandPaths();
  const programBlock = (async () => exitBlock(await helpOf([])))();

  it('the walk sees the whole tree, and every command is classified', () => {
    const names = paths.map((p) => p.join(' '));
    expect(names).toEqual(expect.arrayContaining(['decode', 'agent', 'config check', 'node list', 'node delete', 'lab up', 'lab status', 'install', 'completion']));
    for (const n of names) expect(CAN_FAIL_A_CHECK.has(n) !== NO_FAILED_CHECK.has(n), `weft ${n}: in exactly one of the two sets`).toBe(true);
  });

  it.each(paths.map((p) => [p.join(' ') || '(the program)', p] as const))('weft %s --help', async (name, path) => {
    const block = exitBlock(await helpOf(path));
    const expected = CAN_FAIL_A_CHECK.has(path.join(' ')) ? [0, 1, 2, 3] : [0, 2, 3];
    expect([...block.keys()], name).toEqual(expected);
    // 2 is the usage (or configuration) error everywhere; 3 the same internal error as the program's.
    expect(block.get(2), name).toMatch(/usage/);
    expect(block.get(3), name).toBe((await programBlock).get(3));
  });

  it("the program's block matches output.ts ExitStatus (0 ok, 1 unhealthy / failed check / bad data, 2 usage or configuration, 3 internal)", async () => {
    expect(ExitStatus).toEqual({ OK: 0, BAD_DATA: 1, UNHEALTHY: 1, USAGE: 2, INTERNAL: 3 });
    const b = await programBlock;
    expect(b.get(ExitStatus.OK)).toBe('success');
    expect(b.get(ExitStatus.UNHEALTHY)).toMatch(/^unhealthy or a failed check: .*bad data/);
    expect(b.get(ExitStatus.USAGE)).toMatch(/^usage or configuration error: .*unknown command or option.*invalid configuration/);
    expect(b.get(ExitStatus.INTERNAL)).toMatch(/^internal error \(a bug in weft; WEFT_DEBUG=1/);
    // withExitHelp's default wording for 3 is the program's.
    expect(exitHelpText({ 0: 'x' })).toContain(`  3  ${b.get(3)!}\n`);
  });
});

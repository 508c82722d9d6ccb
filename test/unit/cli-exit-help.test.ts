import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { exitHelpText, jsonErrorLine, runJsonAware, withExitHelp } from '../../src/cli/exit-help.js';
import { CliError, type CommandContext } from '../../src/cli/output.js';
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

/**
 * The commander tree as plain data, for the generators that must follow it without drifting:
 * the man pages (man.ts) and the shell completions (completion.ts). Everything is read through
 * commander's public Help class (visible commands, options, arguments, usage) and the help text
 * a command prints, so a command's --help, its man page and its completion cannot disagree.
 */
import type { Command, Option } from 'commander';

export interface OptionNode {
  /** As written in the help: "-c, --config <file>". */
  flags: string;
  short?: string;
  long?: string;
  description: string;
  /** The option takes a value (`<x>` or `[x]`). */
  takesValue: boolean;
  /** The values it accepts, when commander knows them (.choices()). */
  choices?: readonly string[];
  /** The value names a file or directory (so completion offers paths). */
  pathValue: boolean;
}

export interface CommandNode {
  /** ['config', 'check']; [] for the program itself. */
  path: string[];
  name: string;
  aliases: string[];
  summary: string;
  description: string;
  /** Commander's usage line without the program path: "[options] <file>". */
  usage: string;
  options: OptionNode[];
  /** Positional arguments, as names; `pathValue` when they name a file. */
  args: { name: string; required: boolean; variadic: boolean; description: string; choices?: readonly string[]; pathValue: boolean }[];
  children: CommandNode[];
  /** What the command prints after the generated part of its --help (the addHelpText 'after' blocks). */
  helpAfter: string;
}

const PATH_WORDS = /\b(file|files|config|socket|path|dir|directory|pcap|capture|out|output)\b/i;

function optionNode(o: Option, describe: string): OptionNode {
  const takesValue = o.required || o.optional;
  const valueName = /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1] ?? '';
  return {
    flags: o.flags,
    ...(o.short ? { short: o.short } : {}),
    ...(o.long ? { long: o.long } : {}),
    description: describe,
    takesValue,
    ...(o.argChoices ? { choices: o.argChoices } : {}),
    pathValue: takesValue && !o.argChoices && PATH_WORDS.test(`${valueName} ${o.long ?? ''}`),
  };
}

/** The text `cmd --help` prints after commander's own part (capturing the output, then restoring it). */
function helpAfterOf(cmd: Command): string {
  let text = '';
  const saved = cmd.configureOutput();
  cmd.configureOutput({ ...saved, writeOut: (t) => void (text += t), writeErr: (t) => void (text += t) });
  try {
    cmd.outputHelp();
  } finally {
    cmd.configureOutput(saved);
  }
  const generated = cmd.helpInformation();
  const at = text.indexOf(generated);
  return at < 0 ? '' : text.slice(at + generated.length);
}

/** The tree under `cmd` (the program for the whole of weft), without the implicit help command. */
export function commandTree(cmd: Command, path: string[] = []): CommandNode {
  const help = cmd.createHelp();
  // The implicit `help [command]` is commander's, not a weft command: no page, completed as a word.
  const children = help.visibleCommands(cmd).filter((c) => c.name() !== 'help');
  return {
    path,
    name: cmd.name(),
    aliases: cmd.aliases(),
    summary: cmd.summary() || firstSentence(cmd.description()),
    description: cmd.description(),
    usage: cmd.usage(),
    options: help.visibleOptions(cmd).map((o) => optionNode(o, help.optionDescription(o))),
    // All arguments (Help.visibleArguments hides them when none has a description).
    args: cmd.registeredArguments.map((a) => ({
      name: a.name(),
      required: a.required,
      variadic: a.variadic,
      description: a.description,
      ...(a.argChoices ? { choices: a.argChoices } : {}),
      pathValue: !a.argChoices && PATH_WORDS.test(a.name()),
    })),
    children: children.map((c) => commandTree(c, [...path, c.name()])),
    helpAfter: helpAfterOf(cmd),
  };
}

/** "weft is a BGP speaker that ...: more." -> "a BGP speaker that ..." (a man page's NAME line). */
function firstSentence(text: string): string {
  const m = /^(.*?)[.:](\s|$)/s.exec(text);
  return (m ? m[1] : text).replace(/^weft is /, '').replace(/\s+/g, ' ');
}

/** Every node of the tree, parents before children. */
export function allNodes(root: CommandNode): CommandNode[] {
  return [root, ...root.children.flatMap(allNodes)];
}

/** A section of the after-help text: "Exit status:" and its indented lines. */
export interface HelpSection {
  title: string;
  /** The section's lines, with the common indentation removed. */
  lines: string[];
}

/** Splits the after-help text into its titled sections (a title is a line at column 0 ending in ':'). */
export function helpSections(text: string): HelpSection[] {
  const out: HelpSection[] = [];
  for (const line of text.replace(/\r/g, '').split('\n')) {
    const title = /^([A-Z][^:]{0,40}):\s*$/.exec(line);
    if (title) {
      out.push({ title: title[1], lines: [] });
    } else if (out.length > 0) {
      out[out.length - 1].lines.push(line.trimEnd());
    } else if (line.trim() !== '') {
      out.push({ title: '', lines: [line.trimEnd()] });
    }
  }
  for (const s of out) {
    while (s.lines.length > 0 && s.lines[0] === '') s.lines.shift();
    while (s.lines.length > 0 && s.lines[s.lines.length - 1] === '') s.lines.pop();
    const indent = Math.min(...s.lines.filter((l) => l !== '').map((l) => /^ */.exec(l)![0].length));
    if (Number.isFinite(indent)) s.lines = s.lines.map((l) => l.slice(indent));
  }
  return out.filter((s) => s.lines.length > 0);
}

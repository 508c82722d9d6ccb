/**
 * The name of weft's route protocol number for iproute2: "249 weft" in
 * /etc/iproute2/rt_protos.d/weft.conf, so `ip route` prints `proto weft` instead of `proto 249`.
 * The kernel knows only the number (model.ts WEFT_PROTO); the name is iproute2's table, read from
 * rt_protos and every rt_protos.d/*.conf under /etc/iproute2 and (iproute2 >= 6.5) /usr/share/iproute2.
 *
 * Registration is idempotent and careful: nothing is written when 249 already has the name weft;
 * when 249 has another name (another routing daemon chose it), or "weft" names another number,
 * nothing is written and the conflict is reported with the file that holds it. weft works the
 * same either way: it owns its routes by number, never by name. An existing weft.conf without the
 * line gets the line appended, never replaced.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WEFT_PROTO } from '../../dataplane/model.js';

export const PROTO_NAME = 'weft';
/** Where weft's name goes, relative to the root. */
export const RT_PROTOS_FILE = join('etc', 'iproute2', 'rt_protos.d', 'weft.conf');

const TABLE_DIRS = [join('etc', 'iproute2'), join('usr', 'share', 'iproute2')];

export interface ProtoEntry {
  number: number;
  name: string;
  /** The file (under the root) and line it came from. */
  file: string;
  line: number;
}

export type ProtoNameOutcome =
  | { type: 'present'; file: string }
  | { type: 'written'; file: string; appended: boolean }
  | { type: 'would-write'; file: string; appended: boolean }
  | { type: 'conflict'; file: string; message: string }
  | { type: 'failed'; file: string; message: string };

/** The entries of one iproute2 table file: "NUMBER NAME" per line (decimal or 0x hex), # comments. */
export function parseRtProtos(text: string, file: string): ProtoEntry[] {
  const out: ProtoEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const fields = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (fields.length < 2) return;
    const n = /^0x[0-9a-f]+$/i.test(fields[0]) ? parseInt(fields[0], 16) : /^\d+$/.test(fields[0]) ? Number(fields[0]) : NaN;
    if (Number.isInteger(n)) out.push({ number: n, name: fields[1], file, line: i + 1 });
  });
  return out;
}

function readIfFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Every protocol entry iproute2 would read under `root`, in its order (the table file, then its .d files). */
export function readRtProtos(root: string): ProtoEntry[] {
  const out: ProtoEntry[] = [];
  for (const dir of TABLE_DIRS) {
    const files = [join(dir, 'rt_protos')];
    try {
      const d = join(dir, 'rt_protos.d');
      files.push(...readdirSync(join(root, d)).filter((f) => f.endsWith('.conf')).sort().map((f) => join(d, f)));
    } catch {
      // no .d directory: only the table file
    }
    for (const f of files) {
      const text = readIfFile(join(root, f));
      if (text !== undefined) out.push(...parseRtProtos(text, join(root, f)));
    }
  }
  return out;
}

/** What registration would find: present, a conflict, or nothing yet. */
export function checkProtoName(root: string, number = WEFT_PROTO, name = PROTO_NAME): { type: 'present'; file: string } | { type: 'conflict'; file: string; message: string } | { type: 'missing' } {
  const entries = readRtProtos(root);
  const other = entries.find((e) => e.number === number && e.name !== name);
  if (other) {
    return {
      type: 'conflict',
      file: other.file,
      message: `protocol number ${number} is already named "${other.name}" in ${other.file} line ${other.line}: weft's routes will show as proto ${other.name}; not adding "${number} ${name}" (give that daemon another number, or remove its line, to see proto ${name})`,
    };
  }
  const taken = entries.find((e) => e.name === name && e.number !== number);
  if (taken) {
    return {
      type: 'conflict',
      file: taken.file,
      message: `the name "${name}" already stands for protocol number ${taken.number} in ${taken.file} line ${taken.line}, but weft writes its routes as ${number}: fix or remove that line`,
    };
  }
  const mine = entries.find((e) => e.number === number && e.name === name);
  return mine ? { type: 'present', file: mine.file } : { type: 'missing' };
}

/**
 * Makes "249 weft" known to iproute2 under `root` ("/" on a host; a temporary directory in tests
 * and packaging). `dryRun` says what would be written without writing.
 */
export function registerProtoName(root: string, dryRun = false): ProtoNameOutcome {
  const file = join(root, RT_PROTOS_FILE);
  const found = checkProtoName(root);
  if (found.type !== 'missing') return found;
  const appended = existsSync(file);
  if (dryRun) return { type: 'would-write', file, appended };
  const line = `${WEFT_PROTO}\t${PROTO_NAME}\n`;
  try {
    if (appended) {
      const text = readFileSync(file, 'utf8');
      appendFileSync(file, text === '' || text.endsWith('\n') ? line : `\n${line}`);
    } else {
      mkdirSync(join(file, '..'), { recursive: true });
      // A temporary file renamed into place: iproute2 never reads half a file.
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, `# weft's route protocol number, so that \`ip route\` shows "proto weft" (written by weft)\n${line}`, { mode: 0o644 });
      renameSync(tmp, file);
    }
    return { type: 'written', file, appended };
  } catch (e) {
    return { type: 'failed', file, message: `cannot write ${file}: ${(e as Error).message} (ip route shows proto ${WEFT_PROTO} instead of proto ${PROTO_NAME}; weft works the same)` };
  }
}

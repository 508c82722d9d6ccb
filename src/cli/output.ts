/**
 * Printing helpers shared by the weft commands: where output goes (so tests can capture it),
 * JSON lines, aligned text tables, times, and the CLI's own error type.
 */
import { toHex } from '../lib/hex.js';

/** Where a command writes. `main` uses the process streams; tests pass collectors. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Reads all of standard input (for `-` or a pipe). */
  readStdin(): Promise<Uint8Array>;
  /** True when standard input is a terminal (nothing piped). */
  stdinIsTty(): boolean;
  /** True when standard output is a terminal (watch mode clears the screen then); absent: process.stdout's. */
  stdoutIsTty?(): boolean;
}

/** The exit statuses every weft command uses. */
export const ExitStatus = {
  OK: 0,
  /** The input was read but some of it was bad (a BGP message that does not frame or decode). */
  BAD_DATA: 1,
  /** A check failed: a peer not Established, a route not found, no agent answering. */
  UNHEALTHY: 1,
  /** Wrong usage: unknown option, missing or unreadable file, an invalid configuration, input that is not the format given. */
  USAGE: 2,
  /** A bug in weft (an exception that is not about the input). */
  INTERNAL: 3,
} as const;

/** What a command's action gets from `main`: where to print, and where to leave its exit status. */
export interface CommandContext {
  io: CliIo;
  exitStatus: number;
}

/** A user-facing failure: printed as one line (no stack trace) and turned into an exit status. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitStatus: number = ExitStatus.USAGE,
    /** The stable code of the error under --json (exit-help.ts JsonErrorCode); derived from the status when absent. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * JSON.stringify for command output: bytes as hex strings, bigints as decimal strings, Sets as
 * arrays, Maps as objects; `undefined` members are dropped as usual.
 */
export function toJson(value: unknown, pretty = false): string {
  return JSON.stringify(value, jsonReplacer, pretty ? 2 : undefined);
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return toHex(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Set) return [...value];
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}

/** Collects output lines and hands them to `write` in large pieces (one write per line is slow). */
export class LineWriter {
  private parts: string[] = [];
  private size = 0;

  constructor(
    private readonly write: (text: string) => void,
    private readonly flushAt = 64 * 1024,
  ) {}

  line(text: string): void {
    this.parts.push(text, '\n');
    this.size += text.length + 1;
    if (this.size >= this.flushAt) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    this.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
}

export interface TableColumn<Row> {
  header: string;
  value: (row: Row) => string | number | undefined;
  /** Right-align (numbers). */
  right?: boolean;
}

/** An aligned plain-text table: a header line, then one line per row; columns two spaces apart. */
export function formatTable<Row>(rows: readonly Row[], columns: readonly TableColumn<Row>[]): string {
  const cells = rows.map((r) => columns.map((c) => String(c.value(r) ?? '')));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (columns[i].right ? v.padStart(widths[i]) : i === values.length - 1 ? v : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

/** The BGP message type names used in messages to the user. */
export const MESSAGE_TYPE_NAMES: Record<number, string> = {
  1: 'OPEN',
  2: 'UPDATE',
  3: 'NOTIFICATION',
  4: 'KEEPALIVE',
  5: 'ROUTE-REFRESH',
};

/** An ISO 8601 UTC time with `digits` fractional digits (6 for microseconds, 9 for nanoseconds). */
export function isoTime(epochNs: bigint, digits = 6): string {
  const sec = epochNs >= 0n ? epochNs / 1_000_000_000n : (epochNs - 999_999_999n) / 1_000_000_000n;
  const frac = epochNs - sec * 1_000_000_000n;
  // Date covers +-8.64e15 ms; a nonsense timestamp prints as seconds rather than throwing.
  if (sec > 8_640_000_000_000n || sec < -8_640_000_000_000n) return `${sec}.${frac.toString().padStart(9, '0')}s`;
  const base = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
  if (digits <= 0) return `${base}Z`;
  return `${base}.${frac.toString().padStart(9, '0').slice(0, Math.min(digits, 9))}Z`;
}

/**
 * `weft decode`: BGP messages from a capture (pcap/pcapng), a raw byte stream or hex text, printed
 * as one JSON object per message.
 *
 * Two passes over each stream: the first finds the OPEN messages, from which the session options
 * that change how later messages read (AS number size, ADD-PATH, extended messages) are inferred
 * per connection; the second frames and decodes everything with those options. Lines come out in
 * capture order (the packet that completed each message), then by stream offset.
 */
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { toHex } from '../lib/hex.js';
import { isWireError, type WireError } from '../wire/errors.js';
import { MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH, MessageType } from '../wire/iana.js';
import { decodeMessage, messageToJson } from '../wire/message.js';
import { describeNotification } from '../wire/notification.js';
import { capabilitiesOf } from '../wire/open.js';
import { familyKey, type Capability, type WireOptions } from '../wire/types.js';
import { wireOptionsFor } from '../wire/wire-options.js';
import { CliError, ExitStatus, LineWriter, MESSAGE_TYPE_NAMES, isoTime, toJson, type CliIo, type CommandContext } from './output.js';
import { CaptureError, captureFormat, readCapture, tcpSegment, type TcpSegment } from './pcap.js';
import { frameRuns, reassemble, type StreamRun } from './tcp-stream.js';

export type InputFormat = 'pcap' | 'hex' | 'raw';

export interface DecodeSettings {
  /** undefined: guess from the content. */
  format: InputFormat | undefined;
  /** TCP port of the BGP sessions in a capture. */
  port: number;
  /** Each undefined: inferred per connection from its OPEN messages. */
  fourOctetAs: boolean | undefined;
  addPath: ReadonlySet<string> | undefined;
  extendedMessage: boolean | undefined;
  pretty: boolean;
}

/** One direction of a BGP session (or the whole input for raw / hex). */
export interface Stream {
  /** Names the stream in messages to the user: the connection, or the input file. */
  name: string;
  /** The "stream" field of output lines (captures only), and the opposite direction's. */
  label: string | undefined;
  reverse: string | undefined;
  /** Offset 0 of the first run is the start of the byte stream (not the middle of a message). */
  aligned: boolean;
  runs: StreamRun[];
  order: number;
}

/** A line to print, in capture order. */
interface Event {
  index: number;
  order: number;
  offset: number;
  out?: Record<string, unknown>;
  err?: string;
}

/** Adds `decode` to the program. */
export function registerDecode(program: Command, ctx: CommandContext): void {
  program
    .command('decode')
    .summary('decode BGP messages from a capture, a raw stream or hex text into JSON lines')
    .description(DECODE_HELP.description)
    .argument('[file]', "input file; '-' or none reads standard input")
    .addOption(new Option('--pcap', 'read a pcap or pcapng capture').conflicts(['hex', 'raw']).helpGroup('Input:'))
    .addOption(new Option('--hex', 'read hex text').conflicts(['pcap', 'raw']).helpGroup('Input:'))
    .addOption(new Option('--raw', 'read the raw bytes of one direction of a session').conflicts(['pcap', 'hex']).helpGroup('Input:'))
    .addOption(new Option('--port <port>', 'TCP port of the BGP sessions in a capture').argParser(parsePort).default(179).helpGroup('Input:'))
    .addOption(new Option('--four-octet-as', 'AS numbers are 4 octets (RFC 6793)').conflicts('twoOctetAs').helpGroup('Session (default: inferred from the OPENs):'))
    .addOption(new Option('--two-octet-as', 'AS numbers are 2 octets').helpGroup('Session (default: inferred from the OPENs):'))
    .addOption(
      new Option('--add-path [families]', 'NLRI carry path identifiers (RFC 7911) in these families (default ipv4,ipv6)').helpGroup(
        'Session (default: inferred from the OPENs):',
      ),
    )
    .addOption(new Option('--no-add-path', 'no path identifiers in any family').helpGroup('Session (default: inferred from the OPENs):'))
    .addOption(new Option('--extended-message', 'messages may be up to 65535 octets (RFC 8654)').helpGroup('Session (default: inferred from the OPENs):'))
    .addOption(new Option('--no-extended-message', 'messages are at most 4096 octets').helpGroup('Session (default: inferred from the OPENs):'))
    .addOption(new Option('--pretty', 'indent each JSON object (no longer one per line)').helpGroup('Output:'))
    .addHelpText('after', DECODE_HELP.after)
    .action(async (file: string | undefined, o: Record<string, unknown>) => {
      const settings: DecodeSettings = {
        format: o.pcap ? 'pcap' : o.hex ? 'hex' : o.raw ? 'raw' : undefined,
        port: o.port as number,
        fourOctetAs: o.fourOctetAs ? true : o.twoOctetAs ? false : undefined,
        addPath: parseAddPath(o.addPath),
        extendedMessage: o.extendedMessage as boolean | undefined,
        pretty: o.pretty === true,
      };
      ctx.exitStatus = await runDecode(file, settings, ctx.io);
    });
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new InvalidArgumentError('a TCP port is a number from 1 to 65535.');
  return n;
}

const FAMILY_NAMES: Record<string, string> = {
  ipv4: '1/1',
  'ipv4-unicast': '1/1',
  'ipv4-multicast': '1/2',
  ipv6: '2/1',
  'ipv6-unicast': '2/1',
  'ipv6-multicast': '2/2',
};

/** true -> IPv4 and IPv6 unicast; "ipv4,2/1" -> {"1/1","2/1"}; false -> none; undefined -> infer. */
function parseAddPath(v: unknown): ReadonlySet<string> | undefined {
  if (v === undefined) return undefined;
  if (v === false) return new Set();
  if (v === true) return new Set(['1/1', '2/1']);
  const out = new Set<string>();
  for (const word of String(v).split(',').map((w) => w.trim().toLowerCase())) {
    const m = /^(\d+)\/(\d+)$/.exec(word);
    const key = FAMILY_NAMES[word] ?? (m ? familyKey(Number(m[1]), Number(m[2])) : undefined);
    if (key === undefined) throw new CliError(`--add-path: unknown family ${JSON.stringify(word)} (use ipv4, ipv6, ipv4-multicast, ipv6-multicast or AFI/SAFI such as 1/1)`);
    out.add(key);
  }
  return out;
}

/** Reads, decodes and prints; returns the exit status. Throws CliError / CaptureError for usage errors. */
export async function runDecode(file: string | undefined, settings: DecodeSettings, io: CliIo): Promise<number> {
  const input = await readInput(file, io);
  const warn = (m: string) => io.err(`weft decode: warning: ${m}\n`);
  const format = settings.format ?? guessFormat(input.bytes);
  const capture = format === 'pcap';
  let streams: Stream[];
  if (capture) {
    streams = captureStreams(input.name, input.bytes, settings.port, warn);
  } else {
    const bytes = format === 'hex' ? parseHexText(input.name, input.bytes) : input.bytes;
    const run: StreamRun = { offset: 0, bytes, marks: [{ end: bytes.length, index: 0, timeNs: 0n, timeDigits: 0 }] };
    streams = [{ name: input.name, label: undefined, reverse: undefined, aligned: true, runs: bytes.length > 0 ? [run] : [], order: 0 }];
    if (bytes.length === 0) warn(`${input.name}: the input is empty`);
  }

  const options = inferSessionOptions(streams, settings);

  // Frame and decode each stream with the options of its connection.
  const events: Event[] = [];
  let bad = false;
  let internal = false;
  for (const s of streams) {
    const opts = options.get(s) as WireOptions;
    const framed = frameRuns(s, opts.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH, warn);
    for (const f of framed.frames) {
      const at = { index: f.mark?.index ?? 0, order: s.order, offset: f.offset };
      try {
        const m = decodeMessage(f.bytes, opts);
        const out: Record<string, unknown> = {};
        if (s.label !== undefined) out.stream = s.label;
        out.offset = f.offset;
        if (capture && f.mark) out.time = isoTime(f.mark.timeNs, f.mark.timeDigits);
        out.length = f.bytes.length;
        const json = messageToJson(m);
        if (json !== null && typeof json === 'object' && !Array.isArray(json)) Object.assign(out, json);
        else out.message = json;
        events.push({ ...at, out });
        if (m.type === 'update') {
          for (const p of m.problems ?? []) {
            events.push({ ...at, err: `warning: ${s.name}: offset ${f.offset}: UPDATE: ${describeError(p, f.offset)} (RFC 7606: ${p.severity})` });
          }
        }
      } catch (e) {
        bad = true;
        // The codec throws nothing but WireError; anything else is a bug in weft (exit 3).
        if (!isWireError(e)) internal = true;
        const what = `${MESSAGE_TYPE_NAMES[f.bytes[18]] ?? 'message'} of ${f.bytes.length} bytes`;
        const detail = isWireError(e) ? describeError(e, f.offset) : `internal error while decoding (a bug in weft): ${String(e)}`;
        events.push({ ...at, err: `error: ${s.name}: offset ${f.offset}: ${what}: ${detail}; bytes ${shortHex(f.bytes)}` });
      }
    }
    if (framed.error) {
      bad = true;
      const { offset, error, rest, mark } = framed.error;
      events.push({
        index: mark?.index ?? 0,
        order: s.order,
        offset,
        err: `error: ${s.name}: offset ${offset}: ${describeError(error, 0)}; framing is lost: the remaining ${rest} byte(s) of this stream are not decoded`,
      });
    }
    if (framed.truncated) {
      const { offset, have, need, mark } = framed.truncated;
      const text = `${s.name}: offset ${offset}: the stream ends inside a message (${have} of ${need} bytes)`;
      // A capture may simply stop mid-message; a file that claims to hold whole messages may not.
      if (!capture) bad = true;
      events.push({ index: mark?.index ?? 0, order: s.order, offset, err: capture ? `warning: ${text}` : `error: ${text}` });
    }
  }

  events.sort((a, b) => a.index - b.index || a.order - b.order || a.offset - b.offset);
  const out = new LineWriter((t) => io.out(t));
  for (const e of events) {
    if (e.out) out.line(toJson(e.out, settings.pretty));
    if (e.err !== undefined) {
      out.flush(); // keep errors next to the messages around them on a terminal
      io.err(`weft decode: ${e.err}\n`);
    }
  }
  out.flush();
  return internal ? ExitStatus.INTERNAL : bad ? ExitStatus.BAD_DATA : ExitStatus.OK;
}

/** "header.bad-length (Message Header Error / Bad Message Length): ... (at byte N)". */
function describeError(e: WireError, base: number): string {
  const n = e.notification;
  const at = e.offset !== undefined ? ` (at byte ${base + e.offset})` : '';
  return `${e.code} (${describeNotification(n.code, n.subcode)}): ${e.message}${at}`;
}

function shortHex(b: Uint8Array): string {
  return b.length <= 128 ? toHex(b) : `${toHex(b.subarray(0, 128))}...`;
}

// ---------------------------------------------------------------- input

async function readInput(file: string | undefined, io: CliIo): Promise<{ name: string; bytes: Uint8Array }> {
  if (file === undefined || file === '-') {
    if (file === undefined && io.stdinIsTty()) {
      throw new CliError('no input: name a FILE, or pipe the bytes to standard input (see weft decode --help)');
    }
    return { name: 'stdin', bytes: await io.readStdin() };
  }
  try {
    return { name: file, bytes: await readFile(file) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (e as Error).message;
    throw new CliError(`cannot read ${file}: ${why}`);
  }
}

/** Capture magic -> pcap; a BGP marker -> raw; text -> hex (the hex reader names any bad character). */
export function guessFormat(b: Uint8Array): InputFormat {
  if (captureFormat(b)) return 'pcap';
  if (b.length > 0 && b[0] === 0xff) return 'raw';
  const n = Math.min(b.length, 1 << 16);
  for (let i = 0; i < n; i++) {
    const c = b[i];
    if (!(c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127))) return 'raw';
  }
  return 'hex';
}

/** Hex digits; whitespace, ':' and '#' comments (to the end of the line) are ignored. */
export function parseHexText(name: string, bytes: Uint8Array): Uint8Array {
  const text = new TextDecoder('utf-8').decode(bytes);
  const out: number[] = [];
  let digits = 0;
  let high = 0;
  const lines = text.split('\n');
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln];
    for (let col = 0; col < line.length; col++) {
      const ch = line[col];
      if (ch === '#') break;
      if (ch === ':' || /\s/.test(ch)) continue;
      const v = parseInt(ch, 16);
      if (Number.isNaN(v)) {
        throw new CliError(`${name}:${ln + 1}:${col + 1}: ${JSON.stringify(ch)} is not a hex digit (comments start with '#')`);
      }
      if (digits++ % 2 === 0) high = v;
      else out.push((high << 4) | v);
    }
  }
  if (digits % 2 !== 0) throw new CliError(`${name}: odd number of hex digits (${digits}): the last byte is incomplete`);
  return Uint8Array.from(out);
}

export function captureStreams(name: string, bytes: Uint8Array, port: number, warn: (m: string) => void): Stream[] {
  let packets;
  try {
    packets = readCapture(bytes, (m) => warn(`${name}: ${m}`));
  } catch (e) {
    if (e instanceof CaptureError) throw new CliError(`${name}: malformed capture: ${e.message}`);
    throw e;
  }
  const skipped = new Map<string, number>();
  const segments: TcpSegment[] = [];
  for (const p of packets) {
    const s = tcpSegment(p);
    if (typeof s === 'string') skipped.set(s, (skipped.get(s) ?? 0) + 1);
    else if (s && (s.srcPort === port || s.dstPort === port)) segments.push(s);
  }
  for (const [why, n] of skipped) warn(`${name}: ${n} packet(s) skipped: ${why}`);
  const streams = reassemble(segments, (m) => warn(m)).map(
    (t, i): Stream => ({
      name: t.name,
      label: t.name,
      reverse: t.reverseName,
      aligned: t.sawSyn,
      runs: t.runs,
      order: i,
    }),
  );
  if (streams.length === 0) warn(`${name}: no TCP data to or from port ${port} in ${packets.length} packet(s)`);
  return streams;
}

// ---------------------------------------------------------------- session options

/**
 * The options each stream was sent with: a first pass finds the first OPEN of every stream (framed
 * leniently, up to 65535 octets), then `wireOptions` combines it with the opposite direction's.
 */
export function inferSessionOptions(streams: readonly Stream[], settings: DecodeSettings): Map<Stream, WireOptions> {
  const opens = new Map<Stream, Capability[]>();
  for (const s of streams) {
    for (const f of frameRuns(s, MAX_EXTENDED_MESSAGE_LENGTH, () => {}).frames) {
      if (f.bytes[18] !== MessageType.OPEN) continue;
      try {
        const m = decodeMessage(f.bytes);
        if (m.type === 'open') {
          opens.set(s, capabilitiesOf(m));
          break;
        }
      } catch {
        // A broken OPEN is reported when the stream is decoded.
      }
    }
  }
  const byLabel = new Map(streams.map((s) => [s.label, s]));
  const out = new Map<Stream, WireOptions>();
  for (const s of streams) {
    const peer = s.reverse !== undefined ? byLabel.get(s.reverse) : undefined;
    out.set(s, wireOptions(opens.get(s), peer ? opens.get(peer) : undefined, settings));
  }
  return out;
}

/**
 * The options one direction was sent with, from the sender's and the receiver's capabilities
 * (wire/wire-options.ts, the rule the agent negotiates with). Either OPEN may be missing from the
 * input: a missing side is taken to support everything the other side offers (a decoder gains
 * nothing by refusing), and --four-octet-as / --extended-message / --add-path override.
 */
function wireOptions(own: Capability[] | undefined, peer: Capability[] | undefined, forced: DecodeSettings): WireOptions {
  const families = [own, peer].flatMap((caps) => (caps ?? []).flatMap((c) => (c.type === 'add-path' ? c.families : [])));
  const anything: Capability[] = [
    { type: 'four-octet-as', asn: 0 },
    { type: 'extended-message' },
    { type: 'add-path', families: families.map((f) => ({ afi: f.afi, safi: f.safi, sendReceive: 3 })) },
  ];
  const o = wireOptionsFor(own ?? anything, peer ?? anything, families);
  return {
    fourOctetAs: forced.fourOctetAs ?? o.fourOctetAs,
    extendedMessage: forced.extendedMessage ?? o.extendedMessage,
    addPath: forced.addPath ?? o.addPath,
  };
}

// ---------------------------------------------------------------- help

const DECODE_HELP = {
  description: [
    'Decode the BGP messages in FILE (or standard input) and print one JSON object per message.',
    '',
    'The input is a packet capture, the raw bytes of one direction of a BGP session, or the same bytes as hex text. ' +
      'Without --pcap, --hex or --raw the format is guessed from the content: a pcap or pcapng magic number means a capture, ' +
      'a leading 0xff (the BGP marker) raw bytes, and text means hex.',
  ].join('\n'),
  after: `
Input formats:
  pcap  classic libpcap (microsecond or nanosecond timestamps, either byte order) or pcapng.
        Link types: Ethernet (with 802.1Q VLAN tags), Linux cooked capture (SLL, SLL2), raw IP,
        BSD loopback. IPv4 and IPv6. TCP segments to or from --port are reassembled per
        direction of each connection: retransmitted data is dropped, reordered segments are put
        back in order; data missing from the capture is reported and decoding resumes at the next
        BGP marker. A capture that starts after the handshake is searched for the first marker.
  raw   the bytes one direction of a session carries: messages back to back, each starting with
        16 octets of 0xff (RFC 4271 4.1).
  hex   the raw bytes as hex digits. Whitespace, ':' separators and '#' comments (to the end of
        the line) are ignored.

Output:
  One JSON object per line, in capture order:
    {"stream":"10.0.0.1:35123>10.0.0.2:179","offset":0,"time":"2024-05-01T12:00:00.123456Z",
     "length":61,"type":"open",...}
  "stream" (sender>receiver; " #2" marks a later connection on the same addresses and ports)
  and "time" (when the packet completing the message was captured) appear for captures only.
  "offset" is the position of the message's first byte in its stream, "length" its length; the
  other fields are the decoded message. Bytes are printed as hex, prefixes as text.

Session options:
  How UPDATEs read depends on what the two speakers negotiated. By default this is inferred per
  connection from the OPEN messages in the input: 4-octet AS numbers when every OPEN seen carries
  the capability (RFC 6793), path identifiers for a family when the sender offered to send them
  and the receiver to receive them (ADD-PATH, RFC 7911), messages up to 65535 octets when every
  OPEN offered extended messages (RFC 8654). With no OPEN seen: 4-octet AS numbers, no path
  identifiers, extended messages allowed. The options force a choice for every stream.

Errors:
  Problems are reported on standard error with the stream, the byte offset, the error code and
  the NOTIFICATION the RFC prescribes for it, e.g.
    weft decode: error: demo.hex: offset 61: header.bad-length (Message Header Error / Bad Message
    Length): message length 5 is outside 19..4096 (at byte 77); framing is lost: ...
  A message that frames but does not decode is reported and decoding goes on with the next one.
  A header error (bad marker, length or type) ends that stream, since message boundaries are
  lost; other streams are still decoded. All messages that decode are printed.

Examples:
  weft decode session.pcap
  weft decode --pretty proto-fixtures/demo.hex
  tcpdump -i eth0 -U -w - tcp port 179 | weft decode --pcap -
  weft decode --port 1179 lab.pcapng | jq -c 'select(.type == "update") | .nlri'
  weft decode --two-octet-as --raw old-speaker.bin

Exit status:
  0  every message decoded
  1  the input held bad BGP data (each problem is reported on standard error)
  2  usage error: unknown option, missing or unreadable file, malformed capture or hex text
  3  internal error (a bug in weft; WEFT_DEBUG=1 prints the stack trace)
`,
};

/**
 * TCP reassembly for `weft decode --pcap`: captured segments -> one byte stream per direction of
 * each connection, the bytes a BGP speaker's socket would have read.
 *
 * - Sequence numbers (RFC 9293 3.4) are taken relative to the SYN (offset 0 = the first data byte,
 *   SYN seq + 1) or, when the capture starts after the handshake, to the lowest sequence number
 *   seen; they are unwrapped past 2^32.
 * - Retransmitted and overlapping data is dropped (the first copy wins); out-of-order segments wait
 *   until the hole before them is filled.
 * - A hole never filled by the end of the capture is a gap: a warning, then the data after it
 *   starts a new run (framing has to find the next BGP marker there).
 * - A new SYN with another initial sequence number on the same addresses and ports starts a new
 *   connection ("... #2").
 *
 * Each delivered piece remembers the packet that made it available (for a message's time: the
 * packet that completed it, as an application would have seen it).
 *
 * `frameRuns` then cuts the runs into BGP messages (RFC 4271 4.1), searching for the next marker
 * where a run may begin inside a message.
 */
import type { WireError } from '../wire/errors.js';
import { frameAt } from '../wire/framer.js';
import type { TcpSegment, Warn } from './pcap.js';

export interface StreamMark {
  /** Stream offset just past the piece (exclusive). */
  end: number;
  /** Packet index and time at which the bytes up to `end` were available. */
  index: number;
  timeNs: bigint;
  timeDigits: number;
}

/** Contiguous data of a stream, starting at stream offset `offset`. */
export interface StreamRun {
  offset: number;
  bytes: Uint8Array;
  /** Increasing `end`s; the first mark with end >= x tells when byte x - 1 arrived. */
  marks: StreamMark[];
}

export interface TcpStream {
  /** "10.0.0.1:35123>10.0.0.2:179"; " #2", " #3"... for later connections on the same 4-tuple. */
  name: string;
  /** Name of the opposite direction of the same connection. */
  reverseName: string;
  src: string;
  dst: string;
  /** The SYN was captured: offset 0 is the first byte the sender wrote. */
  sawSyn: boolean;
  runs: StreamRun[];
  /** Index of the first packet of this direction (streams are listed in this order). */
  firstIndex: number;
}

interface Piece {
  rel: number;
  data: Uint8Array;
  index: number;
  timeNs: bigint;
  timeDigits: number;
}

interface Connection {
  src: string;
  dst: string;
  number: number;
  synSeq: number | undefined;
  hasData: boolean;
  segments: TcpSegment[];
}

const MAX_GAP_WARNINGS = 5;

/** Groups segments (in capture order) by direction and connection and reassembles each. */
export function reassemble(segments: Iterable<TcpSegment>, warn: Warn): TcpStream[] {
  const byDirection = new Map<string, Connection[]>();
  const all: Connection[] = [];
  for (const s of segments) {
    const key = `${s.src}>${s.dst}`;
    let list = byDirection.get(key);
    if (!list) byDirection.set(key, (list = []));
    let cur = list[list.length - 1];
    const fresh = (synSeq: number | undefined) => {
      cur = { src: s.src, dst: s.dst, number: list.length + 1, synSeq, hasData: false, segments: [] };
      list.push(cur);
      all.push(cur);
    };
    if (!cur) fresh(s.syn ? s.seq : undefined);
    else if (s.syn && s.seq !== cur.synSeq) {
      // A SYN on a direction that has seen no data and no SYN yet is its handshake; any other
      // SYN with a new initial sequence number opens a new connection (a retransmitted SYN does not).
      if (cur.synSeq === undefined && !cur.hasData) cur.synSeq = s.seq;
      else fresh(s.seq);
    }
    cur.segments.push(s);
    if (s.payload.length > 0) cur.hasData = true;
  }
  const streams: TcpStream[] = [];
  for (const c of all) {
    if (!c.hasData) continue;
    const suffix = c.number > 1 ? ` #${c.number}` : '';
    const name = `${c.src}>${c.dst}${suffix}`;
    streams.push({
      name,
      reverseName: `${c.dst}>${c.src}${suffix}`,
      src: c.src,
      dst: c.dst,
      sawSyn: c.synSeq !== undefined,
      runs: reassembleConnection(c, name, warn),
      firstIndex: c.segments[0].index,
    });
  }
  return streams;
}

function reassembleConnection(c: Connection, name: string, warn: Warn): StreamRun[] {
  const withData = c.segments.filter((s) => s.payload.length > 0);
  let base: number;
  if (c.synSeq !== undefined) {
    base = (c.synSeq + 1) >>> 0;
  } else {
    // No handshake captured: the lowest sequence number seen is offset 0.
    const first = withData[0].seq;
    let min = 0;
    for (const s of withData) min = Math.min(min, (s.seq - first) | 0);
    base = (first + min) >>> 0;
  }
  let ref = 0;
  const unwrap = (seq: number): number => {
    const d = (seq - ((base + ref) % 2 ** 32)) | 0; // signed distance, modulo 2^32
    const rel = ref + d;
    if (rel > ref) ref = rel;
    return rel;
  };

  const chunks: Piece[] = [];
  const pending: Piece[] = []; // sorted by rel; pending[head..] are waiting
  let head = 0;
  let next = 0;
  let cut = 0;
  let gaps = 0;

  const deliver = (p: Piece, by: Piece | undefined) => {
    const data = p.rel < next ? p.data.subarray(next - p.rel) : p.data;
    const last = chunks[chunks.length - 1];
    // Availability never goes backwards within a stream: a byte is readable only after the ones before it.
    let when: Piece = by && by.index > p.index ? by : p;
    if (last && last.rel + last.data.length === next && last.index > when.index) when = last;
    chunks.push({ rel: next, data, index: when.index, timeNs: when.timeNs, timeDigits: when.timeDigits });
    next += data.length;
  };
  const drain = (by: Piece | undefined) => {
    while (head < pending.length && pending[head].rel <= next) {
      const p = pending[head++];
      if (p.rel + p.data.length > next) deliver(p, by);
    }
    if (head > 1024 && head * 2 > pending.length) {
      pending.splice(0, head);
      head = 0;
    }
  };

  for (const s of withData) {
    if (s.missing > 0) cut++;
    // Data of a SYN segment (TCP Fast Open) starts one past its sequence number.
    const rel = unwrap(s.seq) + (s.syn ? 1 : 0);
    const p: Piece = { rel, data: s.payload, index: s.index, timeNs: s.timeNs, timeDigits: s.timeDigits };
    if (rel + p.data.length <= next) continue; // a retransmission of data already delivered
    if (rel <= next) {
      deliver(p, undefined);
      drain(p);
    } else {
      pending.splice(insertionPoint(pending, head, rel), 0, p);
    }
  }
  // Holes never filled: skip them, with a warning each (up to a few).
  while (head < pending.length) {
    const p = pending[head];
    if (p.rel > next) {
      gaps++;
      if (gaps <= MAX_GAP_WARNINGS) {
        warn(`${name}: ${p.rel - next} byte(s) missing at offset ${next} (not captured); decoding resumes at the next BGP marker`);
      }
      next = p.rel;
    }
    drain(undefined);
  }
  if (gaps > MAX_GAP_WARNINGS) warn(`${name}: ${gaps} gaps in all`);
  if (cut > 0) warn(`${name}: ${cut} packet(s) cut short by the capture's snapshot length`);
  return toRuns(chunks);
}

function insertionPoint(sorted: Piece[], from: number, rel: number): number {
  let lo = from;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid].rel <= rel) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function toRuns(chunks: Piece[]): StreamRun[] {
  const runs: StreamRun[] = [];
  let i = 0;
  while (i < chunks.length) {
    const start = chunks[i].rel;
    let j = i;
    let end = start;
    while (j < chunks.length && chunks[j].rel === end) end += chunks[j++].data.length;
    const bytes = new Uint8Array(end - start);
    const marks: StreamMark[] = [];
    for (let k = i; k < j; k++) {
      const c = chunks[k];
      bytes.set(c.data, c.rel - start);
      marks.push({ end: c.rel + c.data.length, index: c.index, timeNs: c.timeNs, timeDigits: c.timeDigits });
    }
    runs.push({ offset: start, bytes, marks });
    i = j;
  }
  return runs;
}

/** The mark telling when the bytes before stream offset `end` were all available. */
export function markAt(run: StreamRun, end: number): StreamMark {
  const m = run.marks;
  let lo = 0;
  let hi = m.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (m[mid].end >= end) hi = mid;
    else lo = mid + 1;
  }
  return m[lo];
}

// ---------------------------------------------------------------- BGP framing of the runs

/** What framing needs to know of a stream. */
export interface FramingInput {
  /** For warnings. */
  name: string;
  runs: StreamRun[];
  /** Offset 0 of the first run is the start of the byte stream (not the middle of a message). */
  aligned: boolean;
}

export interface Frame {
  offset: number;
  bytes: Uint8Array;
  mark: StreamMark | undefined;
}

export interface Framed {
  frames: Frame[];
  /** A header error: framing is lost, the rest of the stream is not read. */
  error?: { offset: number; error: WireError; rest: number; mark: StreamMark | undefined };
  /** The stream ends inside a message. */
  truncated?: { offset: number; have: number; need: number; mark: StreamMark | undefined };
}


/**
 * Frames each run of a stream. A run that may start inside a message (after a gap, or when the
 * capture missed the handshake) is first searched for a BGP marker with a plausible header.
 */
export function frameRuns(s: FramingInput, maxLength: number, warn: Warn): Framed {
  const frames: Frame[] = [];
  for (let i = 0; i < s.runs.length; i++) {
    const run = s.runs[i];
    const buf = run.bytes;
    let pos = 0;
    if (!(i === 0 && s.aligned && run.offset === 0)) {
      pos = resync(buf, maxLength);
      if (pos < 0) {
        warn(`${s.name}: no BGP marker in the ${buf.length} byte(s) at offset ${run.offset}`);
        continue;
      }
      if (pos > 0) warn(`${s.name}: skipped ${pos} byte(s) at offset ${run.offset} to the first BGP marker`);
    }
    while (pos < buf.length) {
      const r = frameAt(buf, pos, buf.length, maxLength);
      const offset = run.offset + pos;
      if (r.kind === 'frame') {
        frames.push({ offset, bytes: buf.subarray(pos, pos + r.length), mark: markAt(run, offset + r.length) });
        pos += r.length;
      } else if (r.kind === 'need-more') {
        const need = buf.length >= pos + 18 ? (buf[pos + 16] << 8) | buf[pos + 17] : 19;
        const truncated = { offset, have: buf.length - pos, need, mark: markAt(run, run.offset + buf.length) };
        if (i === s.runs.length - 1) return { frames, truncated };
        warn(`${s.name}: offset ${offset}: a gap follows inside this message (${truncated.have} of ${need} bytes)`);
        break;
      } else {
        const rest = s.runs.slice(i).reduce((n, x) => n + x.bytes.length, 0) - pos;
        const error = r.error.with({ offset: run.offset + (r.error.offset ?? pos) });
        return { frames, error: { offset, error, rest, mark: markAt(run, offset + 1) } };
      }
    }
  }
  return { frames };
}

/** The first position holding a marker that frames (or could, given more bytes); -1 if none. */
function resync(buf: Uint8Array, maxLength: number): number {
  for (let i = buf.indexOf(0xff); i >= 0; i = buf.indexOf(0xff, i + 1)) {
    if (frameAt(buf, i, buf.length, maxLength).kind !== 'error') return i;
  }
  return -1;
}

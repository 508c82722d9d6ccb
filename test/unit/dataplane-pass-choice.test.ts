// The data-plane loop's choices (pass-choice.ts), table-style: one row per situation.
import { describe, expect, it } from 'vitest';
import { mergeResync, nextPass, pauseMonitor, resyncTimer, type LoopState, type PassChoice, type ResyncReason } from '../../src/dataplane/pass-choice.js';

const NOW = 100_000;

/** Started, cache and device read in place, monitors on, nothing asked for; the last full pass 50 s ago and 100 ms long. */
const base: LoopState = {
  started: true,
  dirty: false,
  queued: 0,
  replan: false,
  resync: undefined,
  cached: true,
  restKnown: true,
  monitor: 'on',
  lastFull: { at: NOW - 50_000, ms: 100 },
};
const st = (o: Partial<LoopState>): LoopState => ({ ...base, ...o });

describe('nextPass', () => {
  const rows: [string, Partial<LoopState>, PassChoice['kind'], Partial<PassChoice>?][] = [
    ['not started', { started: false, dirty: true, queued: 5 }, 'idle'],
    ['not started, monitors paused: they stay off', { started: false, dirty: true, monitor: 'paused' }, 'idle'],
    ['nothing asked for', {}, 'idle'],
    ['nothing asked for, monitors paused', { monitor: 'paused' }, 'resume-monitor'],
    ['queued prefixes but not kicked (after a failed pass): wait for the next kick', { queued: 3 }, 'idle'],
    ['changed prefixes', { dirty: true, queued: 3 }, 'incremental'],
    ['changed prefixes with the monitors paused: write first', { dirty: true, queued: 3, monitor: 'paused' }, 'incremental'],
    ['kicked with nothing queued', { dirty: true }, 'idle'],
    ['kicked with nothing queued, monitors paused', { dirty: true, monitor: 'paused' }, 'resume-monitor'],
    ['devices or blocks changed', { dirty: true, replan: true, queued: 3 }, 'full', { read: false }],
    ['no cache (start, or a line failed)', { dirty: true, cached: false, queued: 3 }, 'full', { read: true }],
    ['no cache, even with a resync due', { dirty: true, cached: false, resync: 'asked' }, 'full', { read: true }],
    ['resync asked for', { dirty: true, resync: 'asked' }, 'verify'],
    ['resync with prefixes queued: the resync (the queue follows)', { dirty: true, resync: 'asked', queued: 4 }, 'verify'],
    // The signature read after the last full plan may already lack the deleted entry (a live
    // drift test lost a deleted neighbour that way): a deletion always reads and plans everything.
    ['resync after a monitored deletion of a neighbour: a full read', { dirty: true, resync: 'deleted' }, 'full', { read: true }],
    ['resync after a paused batch', { dirty: true, resync: 'after-pause' }, 'verify'],
    ['resync with devices changed: a full read', { dirty: true, resync: 'asked', replan: true }, 'full', { read: true }],
    ['resync with no device read since the last full plan', { dirty: true, resync: 'asked', restKnown: false }, 'full', { read: true }],
    ['the streamed resync found what it cannot repair', { dirty: true, resync: 'verify-failed' }, 'full', { read: true }],
    ['periodic resync, long after the last full pass', { dirty: true, resync: 'periodic' }, 'verify'],
    ['periodic resync within 20x the last full pass', { dirty: true, resync: 'periodic', lastFull: { at: NOW - 1_000, ms: 100 } }, 'skip-resync'],
    ['periodic resync at exactly 20x', { dirty: true, resync: 'periodic', lastFull: { at: NOW - 2_000, ms: 100 } }, 'verify'],
    ['a resync asked for within 20x: runs anyway', { dirty: true, resync: 'asked', lastFull: { at: NOW - 10, ms: 100 } }, 'verify'],
  ];
  it.each(rows)('%s', (_what, state, kind, more) => {
    const c = nextPass(st(state), NOW);
    expect(c.kind).toBe(kind);
    if (more) expect(c).toMatchObject(more);
  });

  it('a full choice says why', () => {
    expect(nextPass(st({ dirty: true, cached: false }), NOW)).toEqual({ kind: 'full', read: true, why: 'no cache of the expected state' });
    expect(nextPass(st({ dirty: true, resync: 'periodic', lastFull: { at: NOW - 1_000, ms: 100 } }), NOW)).toEqual({
      kind: 'skip-resync',
      why: 'the last full pass (100 ms) ended 1000 ms ago',
    });
  });

  it('the loop ends: doing what is chosen and clearing what it consumed reaches idle', () => {
    // A small model of the Dataplane's loop: each choice consumes what it handles.
    let s = st({ dirty: true, resync: 'periodic', queued: 2, replan: true, monitor: 'paused', lastFull: { at: NOW - 100, ms: 100 } });
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) {
      const c = nextPass(s, NOW);
      seen.push(c.kind === 'full' ? `full(${c.read ? 'read' : 'cache'})` : c.kind);
      if (c.kind === 'idle') break;
      if (c.kind === 'resume-monitor') s = { ...s, monitor: 'on' };
      else if (c.kind === 'skip-resync') s = { ...s, resync: undefined };
      else if (c.kind === 'full') s = { ...s, dirty: false, replan: false, queued: 0, resync: c.read ? undefined : s.resync };
      else s = { ...s, dirty: false, queued: 0, resync: undefined };
    }
    expect(seen).toEqual(['skip-resync', 'full(cache)', 'resume-monitor', 'idle']);
  });
});

describe('mergeResync', () => {
  const rows: [ResyncReason | undefined, ResyncReason, ResyncReason][] = [
    [undefined, 'periodic', 'periodic'],
    ['periodic', 'asked', 'asked'],
    ['asked', 'periodic', 'asked'],
    ['deleted', 'after-pause', 'deleted'],
    ['asked', 'verify-failed', 'verify-failed'],
    ['verify-failed', 'periodic', 'verify-failed'],
  ];
  it.each(rows)('%s then %s -> %s', (pending, next, want) => {
    expect(mergeResync(pending, next)).toBe(want);
  });
});

describe('resyncTimer', () => {
  const rows: [string, Partial<LoopState>, boolean, 'resync' | 'wait'][] = [
    ['idle', {}, false, 'resync'],
    ['a pass is running', {}, true, 'wait'],
    ['changes wait for the batch window', { dirty: true }, false, 'wait'],
    ['stopped', { started: false }, false, 'wait'],
  ];
  it.each(rows)('%s', (_what, state, running, want) => {
    expect(resyncTimer(st(state), running)).toBe(want);
  });
});

describe('pauseMonitor', () => {
  const rows: [string, LoopState['monitor'], number, boolean][] = [
    ['a large batch with the monitors on', 'on', 1000, true],
    ['a small batch', 'on', 999, false],
    ['already paused', 'paused', 5000, false],
    ['no monitors', 'off', 5000, false],
  ];
  it.each(rows)('%s', (_what, monitor, lines, want) => {
    expect(pauseMonitor(st({ monitor }), lines, 1000)).toBe(want);
  });
});

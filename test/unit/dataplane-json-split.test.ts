// The streamed `ip -json route` reader cuts array elements out of text arriving in pieces.
import { describe, expect, it } from 'vitest';
import { JsonArraySplitter } from '../../src/dataplane/iproute2.js';

const TEXT = '[{"dst":"10.0.0.0/24","flags":[],"note":"a } and a { and \\" in a string"},{"dst":"default","nexthops":[{"gateway":"10.0.0.1","flags":["onlink"]}]}]\n';

function split(pieces: string[]): string[] {
  const out: string[] = [];
  const s = new JsonArraySplitter((t) => out.push(t));
  for (const p of pieces) s.push(p);
  expect(s.complete).toBe(true);
  return out;
}

describe('JsonArraySplitter', () => {
  const whole = JSON.parse(TEXT) as unknown[];

  it('gives each element, whatever the cut points (every offset, and byte by byte)', () => {
    for (let i = 0; i <= TEXT.length; i++) {
      expect(split([TEXT.slice(0, i), TEXT.slice(i)]).map((t) => JSON.parse(t))).toEqual(whole);
    }
    expect(split([...TEXT]).map((t) => JSON.parse(t))).toEqual(whole);
  });

  it('an empty listing ("[]" or nothing) has no elements and is complete', () => {
    expect(split(['[]\n'])).toEqual([]);
    expect(split(['', '\n'])).toEqual([]);
  });

  it('refuses what is not one array of objects, and knows a cut-off listing', () => {
    expect(() => split(['{"dst":1}'])).toThrow(/expected a JSON array/);
    expect(() => split(['[]', '[]'])).toThrow(/second JSON array/);
    const s = new JsonArraySplitter(() => undefined);
    s.push(TEXT.slice(0, 30));
    expect(s.complete).toBe(false);
  });
});

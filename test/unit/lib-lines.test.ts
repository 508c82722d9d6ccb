// lineReader cuts text arriving in pieces into lines, whatever the cut points.
import { describe, expect, it } from 'vitest';
import { lineReader } from '../../src/lib/lines.js';

describe('lineReader', () => {
  it('gives every complete line once, for every split of the text, and keeps a partial last line', () => {
    const text = 'Deleted 10.0.0.0/24 proto weft\n\nCommand failed -:3\nno newline yet';
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j += 7) {
        const got: string[] = [];
        const read = lineReader((l) => got.push(l));
        read(text.slice(0, i));
        read(text.slice(i, j));
        read(text.slice(j));
        expect(got).toEqual(['Deleted 10.0.0.0/24 proto weft', '', 'Command failed -:3']);
        read('\n');
        expect(got.at(-1)).toBe('no newline yet');
      }
    }
  });
});

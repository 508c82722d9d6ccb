// The `weft lab test` report: the matrix cells say pass/fail against the expectation.
import { describe, expect, it } from 'vitest';
import { formatReport } from '../../src/cli/lab.js';
import type { PingResult } from '../../src/lab/ping.js';
import { summarise } from '../../src/lab/ping.js';
import type { TestReport } from '../../src/lab/scenario.js';

function r(from: string, to: string, relation: PingResult['relation'], expected: 'pass' | 'fail', result: 'pass' | 'fail'): PingResult {
  const host = (p: string) => (p === 'a' ? 'h1' : p === 'b' ? 'h2' : 'h3');
  return { from, to, fromHost: host(from), toHost: host(to), address: `10.0.0.${to.charCodeAt(0)}`, relation, expected, result, ok: expected === result, attempts: 3, ms: 2000 };
}

describe('weft lab test report', () => {
  it('prints ok / x / FAIL / PASS! and lists the pairs not as expected', () => {
    const results = [
      r('a', 'b', 'sameSubnet', 'pass', 'pass'),
      r('a', 'c', 'crossSubnet', 'fail', 'fail'),
      r('b', 'a', 'sameSubnet', 'pass', 'fail'),
      r('b', 'c', 'crossSubnet', 'fail', 'pass'),
      r('c', 'a', 'crossSubnet', 'fail', 'fail'),
      r('c', 'b', 'crossSubnet', 'fail', 'fail'),
    ];
    const summary = summarise(results);
    expect(summary).toEqual({ pairs: 6, passed: 2, failed: 4, unexpected: 2, expectedFailures: 4, allAsExpected: false });
    const rep: TestReport = {
      lab: 'l', key: 'l-never', variant: 'never', encapsulation: 'never',
      expect: { sameHost: 'pass', sameSubnet: 'pass', crossSubnet: 'fail' },
      broughtUp: true, convergence: [], results, summary, up: false, ok: false,
    };
    const text = formatReport(rep);
    const lines = text.split('\n');
    expect(lines[0]).toBe('lab l-never (variant never): expect sameHost pass, sameSubnet pass, crossSubnet fail');
    expect(lines).toContain('FROM \\ TO  a     b   c');
    expect(lines).toContain('a (h1)     -     ok  x');
    expect(lines).toContain('b (h2)     FAIL  -   PASS!');
    expect(text).toContain('6 pairs: 2 answered, 4 did not (4 expected to fail); 2 NOT as expected');
    expect(text).toContain('  b -> a 10.0.0.97 (sameSubnet, h2 -> h1): expected pass, no answer within 2.0 s (3 tries)');
    expect(text).toContain('  b -> c 10.0.0.99 (crossSubnet, h2 -> h3): expected fail, answered');
  });

  it('shows why the matrix did not run', () => {
    const rep: TestReport = {
      lab: 'l', key: 'l', variant: undefined, encapsulation: undefined,
      expect: { sameHost: 'pass', sameSubnet: 'pass', crossSubnet: 'pass' },
      broughtUp: true, convergence: [], error: 'the agents did not converge within 60 s:\n  h1: 0/2 Established',
      results: [], summary: summarise([]), up: false, ok: false,
    };
    expect(formatReport(rep)).toContain('the agents did not converge within 60 s:\n  h1: 0/2 Established');
  });
});

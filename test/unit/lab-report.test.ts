// The `weft lab test` report: the matrix cells say pass/fail against the expectation.
import { describe, expect, it } from 'vitest';
import { failoverLines, formatReport } from '../../src/cli/lab.js';
import type { FailoverReport } from '../../src/lab/failover.js';
import type { PingResult } from '../../src/lab/ping.js';
import { summarise, summariseByFamily } from '../../src/lab/ping.js';
import type { TestReport } from '../../src/lab/scenario.js';

function r(from: string, to: string, relation: PingResult['relation'], expected: 'pass' | 'fail', result: 'pass' | 'fail'): PingResult {
  const host = (p: string) => (p === 'a' ? 'h1' : p === 'b' ? 'h2' : 'h3');
  return { from, to, fromHost: host(from), toHost: host(to), family: 4, address: `10.0.0.${to.charCodeAt(0)}`, relation, expected, result, ok: expected === result, attempts: 3, ms: 2000 };
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
      expect: { ipv4: { sameHost: 'pass', sameSubnet: 'pass', crossSubnet: 'fail' }, ipv6: { sameHost: 'pass', sameSubnet: 'pass', crossSubnet: 'fail' } },
      broughtUp: true, convergence: [], results, summary, byFamily: summariseByFamily(results), up: false, ok: false,
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
      expect: { ipv4: { sameHost: 'pass', sameSubnet: 'pass', crossSubnet: 'pass' }, ipv6: { sameHost: 'pass', sameSubnet: 'pass', crossSubnet: 'pass' } },
      broughtUp: true, convergence: [], error: 'the agents did not converge within 60 s:\n  h1: 0/2 Established',
      results: [], summary: summarise([]), byFamily: {}, up: false, ok: false,
    };
    expect(formatReport(rep)).toContain('the agents did not converge within 60 s:\n  h1: 0/2 Established');
  });

  it('a dual-stack lab gets a matrix per family, titled, and the expectation of each family when they differ', () => {
    const v4 = [r('a', 'b', 'sameSubnet', 'pass', 'pass'), r('b', 'a', 'sameSubnet', 'pass', 'pass')];
    const v6: PingResult[] = [
      { ...r('a', 'b', 'sameSubnet', 'pass', 'fail'), family: 6, address: 'fd00::b' },
      { ...r('b', 'a', 'sameSubnet', 'fail', 'fail'), family: 6, address: 'fd00::a' },
    ];
    const results = [...v4, ...v6];
    const rep: TestReport = {
      lab: 'd', key: 'd', variant: undefined, encapsulation: undefined,
      expect: { ipv4: { sameHost: 'pass', sameSubnet: 'pass', crossSubnet: 'pass' }, ipv6: { sameHost: 'pass', sameSubnet: 'fail', crossSubnet: 'pass' } },
      broughtUp: true, convergence: [], results, summary: summarise(results), byFamily: summariseByFamily(results), up: false, ok: false,
    };
    expect(rep.byFamily.ipv4).toMatchObject({ pairs: 2, passed: 2, allAsExpected: true });
    expect(rep.byFamily.ipv6).toMatchObject({ pairs: 2, passed: 0, unexpected: 1, allAsExpected: false });
    const text = formatReport(rep);
    expect(text.split('\n')[0]).toBe('lab d: expect IPv4 sameHost pass, sameSubnet pass, crossSubnet pass; IPv6 sameHost pass, sameSubnet fail, crossSubnet pass');
    expect(text).toContain('\nIPv4\n\nFROM \\ TO  a   b\na (h1)     -   ok\nb (h2)     ok  -\n\nIPv4: 2 pairs: 2 answered, 0 did not (0 expected to fail); all as expected\n');
    expect(text).toContain('\nIPv6\n\nFROM \\ TO  a  b\na (h1)     -  FAIL\nb (h2)     x  -\n\nIPv6: 2 pairs: 0 answered, 2 did not (1 expected to fail); 1 NOT as expected\n');
    expect(text).toContain('  a -> b fd00::b (sameSubnet, h1 -> h2): expected pass, no answer within 2.0 s (3 tries)');
  });

  it('prints the failover check: routes before and after, each pair\'s loss, the verdict', () => {
    const f: FailoverReport = {
      node: 'tor1', mode: 'link-down', links: ['tor1:eth1 (to h1:eth1)'], intervalMs: 50, detectionMs: 9000,
      before: [{ host: 'h1', block: '10.244.2.0/26', nexthops: [{ via: '10.78.1.10', dev: 'eth1' }, { via: '10.78.2.10', dev: 'eth2' }] }],
      after: [{ host: 'h1', block: '10.244.2.0/26', nexthops: [{ via: '10.78.2.10', dev: 'eth2' }] }],
      convergedMs: 7420,
      pairs: [{ from: 'pod1a', to: 'pod2a', family: 4, address: '10.244.2.2', sent: 200, received: 60, lost: 140, longestGapMs: 7000, recovered: true }],
      maxGapMs: 7000, ok: true, problems: [],
    };
    const text = failoverLines(f).join('\n');
    expect(text).toContain('failover: tor1 down (tor1:eth1 (to h1:eth1)); routes off tor1 on every host after 7.4 s (detection time 9 s)');
    expect(text).toContain('h1    10.244.2.0/26  via 10.78.1.10 dev eth1, via 10.78.2.10 dev eth2  via 10.78.2.10 dev eth2');
    expect(text).toContain('pod1a -> pod2a  10.244.2.2   200   140      7000 ms');
    expect(text).toContain('largest gap 7.00 s at one ping every 50 ms; within the detection time');
    const bad = failoverLines({ ...f, convergedMs: undefined, ok: false, problems: ['routes through tor1 were still there 24 s after it went down'] }).join('\n');
    expect(bad).toContain('routes through tor1 never went');
    expect(bad).toContain('NOT as expected:\n  routes through tor1 were still there 24 s after it went down');
    expect(failoverLines({ ...f, mode: 'silent' })[1]).toMatch(/^failover: tor1 silent, links up \(tor1:eth1/);
  });
});

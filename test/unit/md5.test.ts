// TCP MD5 (RFC 2385) without sockets: the password in both configurations (validated, never
// printed), the specs that carry it, the kernel counters parsed from /proc/net/netstat, the
// diagnosis text for a session that does not come up, and what a missing addon means.
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../src/agent/config/agent-config.js';
import { agentPasswordPaths, redactPasswords, speakerPasswordPaths } from '../../src/agent/config/md5-check.js';
import { parseSpeakerConfig } from '../../src/agent/config/speaker-config.js';
import { loadMd5, md5Diagnosis, parseMd5Counters } from '../../src/agent/io/md5/md5.js';
import { desiredPeers } from '../../src/agent/peers/mesh.js';
import { problemsOf } from '../helpers/config-problems.js';

const AGENT = {
  node: { name: 'host-a', asn: 64512, routerId: '10.0.1.11', address: '10.0.1.11/24' },
  mesh: { nodes: [{ name: 'host-b', address: '10.0.1.12' }], password: 'mesh-secret' },
  peers: [
    { address: '10.0.1.1', asn: 65001, password: 'tor-secret' },
    { address: '10.0.1.2', asn: 65001 },
  ],
};

const problems = problemsOf;

describe('password in the configuration', () => {
  it('agent: per external peer and for the mesh, carried by each session spec', () => {
    const { config } = parseAgentConfig(AGENT, 't.yaml');
    expect(config.mesh.password).toBe('mesh-secret');
    const specs = desiredPeers(config, [{ name: 'host-c', address: '10.0.1.13' }]);
    expect(Object.fromEntries(specs.map((s) => [s.address, s.password]))).toEqual({
      '10.0.1.1': 'tor-secret',
      '10.0.1.2': undefined,
      '10.0.1.12': 'mesh-secret',
      '10.0.1.13': 'mesh-secret', // a node of the nodes file is a mesh peer like the others
    });
    expect(agentPasswordPaths(config)).toEqual(['mesh.password', 'peers[0].password']);
  });

  it('1 to 80 bytes (the longest key Linux takes)', () => {
    const at = (password: string) => problems(() => parseAgentConfig({ ...AGENT, peers: [{ address: '10.0.1.1', asn: 65001, password }] }, 't.yaml'));
    expect(at('x'.repeat(80))).toEqual([]);
    expect(at('x'.repeat(81))).toEqual(['peers[0].password: must be 1 to 80 bytes (the longest TCP MD5 key Linux takes)']);
    expect(at('é'.repeat(41))).toEqual(['peers[0].password: must be 1 to 80 bytes (the longest TCP MD5 key Linux takes)']);
    expect(at('')).toEqual(['peers[0].password: must be 1 to 80 bytes (the longest TCP MD5 key Linux takes)']);
    expect(problems(() => parseAgentConfig({ ...AGENT, mesh: { password: 42 } }, 't.yaml'))[0]).toMatch(/^mesh\.password: /);
  });

  it('weft peer takes it too', () => {
    const c = parseSpeakerConfig({ asn: 65001, routerId: '10.0.0.1', peers: [{ address: '10.0.0.2', asn: 65002, password: 'p' }, { address: '10.0.0.3', asn: 65003 }] }, 't.yaml');
    expect(c.peers[0]!.password).toBe('p');
    expect(speakerPasswordPaths(c)).toEqual(['peers[0].password']);
  });

  it('a printed configuration hides every password', () => {
    const { config } = parseAgentConfig(AGENT, 't.yaml');
    const text = JSON.stringify(redactPasswords(config));
    expect(text).not.toMatch(/secret/);
    expect(redactPasswords(config).peers.map((p) => p.password)).toEqual(['(hidden)', undefined]);
    expect(config.peers[0]!.password).toBe('tor-secret'); // the original is untouched
  });
});

describe('the addon missing', () => {
  it('says why, never throws', () => {
    const s = loadMd5(['/nonexistent/weft_md5.node']);
    expect(s.ok).toBe(false);
    expect(!s.ok && s.reason).toMatch(/the TCP MD5 addon is not built \(looked for \/nonexistent\/weft_md5\.node; "npm install" builds it/);
  });
});

const NETSTAT = `TcpExt: SyncookiesSent SyncookiesRecv TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure TCPSackShifted
TcpExt: 0 0 3 1 7 0
IpExt: InNoRoutes InTruncatedPkts
IpExt: 0 0
`;

describe('kernel counters and the diagnosis', () => {
  it('TcpExt TCPMD5NotFound / TCPMD5Failure / TCPMD5Unexpected from /proc/net/netstat', () => {
    expect(parseMd5Counters(NETSTAT)).toEqual({ notFound: 3, failure: 7, unexpected: 1 });
    expect(parseMd5Counters('TcpExt: A B\nTcpExt: 1 2\n')).toBeUndefined(); // a kernel without TCP MD5
    expect(parseMd5Counters('')).toBeUndefined();
  });

  it('nothing to say while the session is up, or before anything failed', () => {
    const counters = { notFound: 0, failure: 0, unexpected: 0 };
    expect(md5Diagnosis({ established: true, passive: false, dialTimeouts: 3, counters })).toBeUndefined();
    expect(md5Diagnosis({ established: false, passive: false, dialTimeouts: 0, counters })).toBeUndefined();
  });

  it('dial timeouts and the counters, with what to check', () => {
    const d = md5Diagnosis({ established: false, passive: false, dialTimeouts: 2, counters: { notFound: 3, failure: 7, unexpected: 1 } });
    expect(d).toBe(
      'no TCP connection completed (2 dial attempts timed out); MD5 configured: check the password at both ends (the kernel drops segments with a missing or wrong signature silently); ' +
        "segments this host's kernel dropped so far (all peers): 3 without signature (TCPMD5NotFound), 7 with a wrong one (TCPMD5Failure), 1 signed where no key is set (TCPMD5Unexpected)",
    );
    expect(md5Diagnosis({ established: false, passive: true, dialTimeouts: 0, counters: { notFound: 0, failure: 1, unexpected: 0 } })).toMatch(/^no TCP connection from the peer reached weft; MD5 configured: check the password at both ends/);
    // A passive mesh session dials once at start: both symptoms.
    expect(md5Diagnosis({ established: false, passive: true, dialTimeouts: 1, counters: undefined })).toMatch(/^no TCP connection completed \(1 dial attempt timed out\) and none from the peer reached weft; MD5 configured/);
    expect(md5Diagnosis({ established: false, passive: false, dialTimeouts: 1, counters: undefined })).toBe(
      'no TCP connection completed (1 dial attempt timed out); MD5 configured: check the password at both ends (the kernel drops segments with a missing or wrong signature silently)',
    );
  });
});

// containerlab's schema in weft lab: inheritance from topology.defaults / kinds / groups in
// containerlab's order, both link syntaxes, host: and mgmt-net: ends, the labs in labs/clab, and
// the refusals: each names the node (or link) and the field path, and says what to do.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { frrDaemons, expectedMarks, nodeConfig } from '../../src/lab/clab-daemons.js';
import { imageFlavour } from '../../src/lab/clab-nodes.js';
import { linkPairs } from '../../src/lab/clab-checks.js';
import { loadTopology } from '../../src/lab/plan.js';
import { parseTopology, roleOf, topologyNotes } from '../../src/lab/topology.js';
import { problemsOf } from '../helpers/config-problems.js';

const LABS = join(import.meta.dirname, '..', '..', 'labs', 'clab');
const dir = mkdtempSync(join(tmpdir(), 'weft-clab-unit-'));
const SOURCE = join(dir, 'x.clab.yml');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const parse = (v: unknown) => parseTopology(v, SOURCE);
const problems = (v: unknown) => problemsOf(() => parse(v));
const lab = (topology: Record<string, unknown>) => ({ name: 't', topology });

describe('inheritance: node > group > kind > defaults', () => {
  const t = parse(
    lab({
      defaults: { kind: 'linux', image: 'alpine:3', exec: ['echo d'], env: { A: 'd', B: 'd', N: 3 }, labels: { l: 'd' }, sysctls: { 'net.ipv4.ip_forward': 1 } },
      kinds: { linux: { image: 'ubuntu', exec: ['echo k'], env: { B: 'k', C: 'k' }, cmd: 'sleep 1' } },
      groups: { g: { image: 'busybox', exec: ['echo g'], env: { C: 'g' }, labels: { l: 'g', m: 'g' } } },
      nodes: {
        a: { group: 'g', exec: ['echo n'], env: { D: 'n' }, cmd: 'sleep 2' },
        b: {},
        c: { group: 'not-a-section' },
        sw: { kind: 'bridge' },
      },
      links: [],
    }),
  );
  const n = t.topology.nodes;

  it('kind from defaults; scalars from the most specific level that sets them', () => {
    expect(n.a.kind).toBe('linux');
    expect(n.a.image).toBe('busybox');
    expect(n.b.image).toBe('ubuntu');
    expect(n.c.image).toBe('ubuntu'); // a group not under topology.groups only labels the node
    expect(n.a.cmd).toBe('sleep 2');
    expect(n.b.cmd).toBe('sleep 1');
  });

  it('exec appended defaults, kind, group, node; env, labels and sysctls merged per key', () => {
    expect(n.a.exec).toEqual(['echo d', 'echo k', 'echo g', 'echo n']);
    expect(n.b.exec).toEqual(['echo d', 'echo k']);
    expect(n.a.env).toEqual({ A: 'd', B: 'k', C: 'g', D: 'n', N: '3' });
    expect(n.a.labels).toEqual({ l: 'g', m: 'g' });
    expect(n.b.sysctls).toEqual({ 'net.ipv4.ip_forward': '1' });
  });

  it('a node without group takes topology.defaults.group (containerlab)', () => {
    const t2 = parse(lab({ defaults: { group: 'g' }, groups: { g: { kind: 'linux', image: 'alpine:3' } }, nodes: { l3: null } }));
    expect(t2.topology.nodes.l3).toMatchObject({ kind: 'linux', image: 'alpine:3' });
  });

  it('defaults apply to a bridge too, and a bridge keeps its kind', () => {
    expect(n.sw.kind).toBe('bridge');
  });

  it('binds appended, one per container path, the lower level winning', () => {
    for (const f of ['d.conf', 'n.conf', 'daemons']) writeFileSync(join(dir, f), 'x\n');
    const t2 = parse(
      lab({
        defaults: { binds: ['d.conf:/etc/frr/frr.conf'] },
        kinds: { linux: { binds: ['daemons:/etc/frr/daemons'] } },
        nodes: { r: { kind: 'linux', image: 'quay.io/frrouting/frr:8.4.1', binds: ['n.conf:/etc/frr/frr.conf'] } },
      }),
    );
    expect(t2.topology.nodes.r.binds).toEqual([`${join(dir, 'n.conf')}:/etc/frr/frr.conf`, `${join(dir, 'daemons')}:/etc/frr/daemons`]);
  });
});

describe('links', () => {
  it('the long syntax becomes the brief one, with MACs, MTU, vars and per-end addresses', () => {
    const t = parse(
      lab({
        nodes: { a: { kind: 'linux' }, b: { kind: 'linux' } },
        links: [
          {
            type: 'veth',
            mtu: 9000,
            vars: { x: 1 },
            endpoints: [
              { node: 'a', interface: 'eth1', mac: '02:00:00:00:00:01', ipv4: '10.0.0.1/30' },
              { node: 'b', interface: 'eth1', ipv6: ['fd00::2/64'] },
            ],
          },
          { endpoints: ['a:eth2', 'b:eth2'], ipv4: ['10.0.1.1/30', '10.0.1.2/30'] },
          // containerlab's own place for addresses: vars.ipv4 / vars.ipv6, per link or per endpoint.
          { endpoints: ['a:eth3', 'b:eth3'], vars: { ipv4: ['10.0.3.1/30', '10.0.3.2/30'], ipv6: ['fd00:3::1/64', ''] } },
          { type: 'veth', endpoints: [{ node: 'a', interface: 'eth4', vars: { ipv4: '10.0.4.1/30' } }, { node: 'b', interface: 'eth4', vars: { ipv4: '10.0.4.2/30' } }] },
        ],
      }),
    );
    expect(t.topology.links[2]).toMatchObject({ ipv4: ['10.0.3.1/30', '10.0.3.2/30'], ipv6: ['fd00:3::1/64', null] });
    expect(t.topology.links[3]).toMatchObject({ endpoints: ['a:eth4', 'b:eth4'], ipv4: ['10.0.4.1/30', '10.0.4.2/30'] });
    expect(t.topology.links[0]).toEqual({ endpoints: ['a:eth1', 'b:eth1'], mtu: 9000, vars: { x: 1 }, mac: ['02:00:00:00:00:01', null], ipv4: ['10.0.0.1/30', null], ipv6: [null, 'fd00::2/64'] });
    expect(linkPairs(t).slice(0, 2)).toEqual([
      { link: 1, from: 'a', to: 'b', address: '10.0.1.2' },
      { link: 1, from: 'b', to: 'a', address: '10.0.1.1' },
    ]);
    expect(linkPairs(t)).toHaveLength(6); // links 1, 2 (IPv4 only: one IPv6 end), 3
  });

  it('host: ends land in the node of kind host (or an implicit one), mgmt-net: ends on a bridge', () => {
    const t = parse(
      lab({
        nodes: { a: { kind: 'linux' } },
        links: [{ endpoints: ['a:eth1', 'host:a-up'] }, { type: 'mgmt-net', endpoint: { node: 'a', interface: 'eth2' }, 'host-interface': 'a-mgmt' }, { type: 'host', endpoint: { node: 'a', interface: 'eth3' }, 'host-interface': 'a-h2' }],
      }),
    );
    expect(t.topology.links.map((l) => l.endpoints)).toEqual([
      ['a:eth1', 'host:a-up'],
      ['a:eth2', 'mgmt-net:a-mgmt'],
      ['a:eth3', 'host:a-h2'],
    ]);
    expect(t.topology.nodes.host.kind).toBe('host');
    expect(t.topology.nodes['mgmt-net'].kind).toBe('bridge');
    expect(roleOf(t, 'host')).toBe('lab-host');
    const t2 = parse(lab({ nodes: { a: { kind: 'linux' }, me: { kind: 'host', exec: ['true'] } }, links: [{ endpoints: ['a:eth1', 'host:a-up'] }] }));
    expect(t2.topology.links[0].endpoints).toEqual(['a:eth1', 'me:a-up']);
    expect('host' in t2.topology.nodes).toBe(false);
  });
});

describe('images, configs, notes', () => {
  it('FRR and BIRD images by name; everything else is a plain namespace', () => {
    expect(imageFlavour('quay.io/frrouting/frr:8.4.1')).toBe('frr');
    expect(imageFlavour('frrouting/frr')).toBe('frr');
    expect(imageFlavour('ghcr.io/x/bird:2.0')).toBe('bird');
    expect(imageFlavour('pierky/bird')).toBe('bird');
    for (const i of ['alpine', 'ubuntu:22.04', 'busybox', 'weft', 'ghcr.io/x/birdwatcher', undefined]) expect(imageFlavour(i)).toBe('plain');
  });

  it('FRR daemons: from the daemons file, else from the config sections; zebra and staticd always', () => {
    writeFileSync(join(dir, 'daemons2'), 'bgpd=yes\nospfd=no\nbfdd=yes\nvtysh_enable=yes\n');
    const n = (binds: string[]) => ({ kind: 'linux', image: 'frr', binds, exec: [], env: {}, labels: {}, sysctls: {} }) as never;
    expect(frrDaemons(n([`${join(dir, 'daemons2')}:/etc/frr/daemons`]), 'router ospf\n').daemons).toEqual(['zebra', 'staticd', 'bfdd', 'bgpd']);
    expect(frrDaemons(n([]), 'router bgp 65001\n neighbor 10.0.0.1 bfd\n!\nrouter ospf\n').daemons).toEqual(['zebra', 'staticd', 'bfdd', 'bgpd', 'ospfd']);
    expect(expectedMarks('frr', 'router bgp 65001\n bgp router-id 1.1.1.1\nrouter ospf\n')).toEqual(['router bgp 65001', 'router ospf']);
    expect(expectedMarks('bird', 'protocol device {}\nprotocol bgp frr1 {\n}\nprotocol static blackholes {\n')).toEqual(['frr1', 'blackholes']);
    writeFileSync(join(dir, 'c.conf'), 'router ospf\n');
    expect(() => nodeConfig('r', { ...(n([`${join(dir, 'c.conf')}:/etc/frr/frr.conf`]) as object), 'startup-config': 'a\nb\n' } as never, ['/etc/frr/frr.conf'], '/etc/frr')).toThrow(/topology.nodes.r: both startup-config and a bind/);
  });

  it('kind frr (and its alias frrouting): FRR whatever the image, daemons from extras.frr.daemons or all', () => {
    const t = parse(
      lab({
        kinds: { frr: { extras: { frr: { daemons: ['ospfd', 'bfdd', 'zebra'] } } } },
        nodes: { r1: { kind: 'frr', image: 'quay.io/frrouting/frr:containerlab-10.7.1' }, r2: { kind: 'frrouting', image: 'my/router' } },
      }),
    );
    expect(t.topology.nodes.r1).toMatchObject({ kind: 'frr', daemons: ['ospfd', 'bfdd'] });
    expect(t.topology.nodes.r2.kind).toBe('frr');
    expect(t.topology.nodes.r2.daemons).toBeUndefined();
    expect(roleOf(t, 'r2')).toBe('frr');
    expect(frrDaemons(t.topology.nodes.r1, '').daemons).toEqual(['zebra', 'staticd', 'bfdd', 'ospfd']);
    const all = frrDaemons(t.topology.nodes.r2, '');
    expect(all.from).toBe('kind frr (every daemon)');
    expect(all.daemons.slice(0, 2)).toEqual(['zebra', 'staticd']);
    expect(all.daemons).toContain('bgpd');
    const p = problems(lab({ nodes: { r1: { kind: 'frr', extras: { frr: { daemons: ['ospfd', 'quaggad'] } } }, n1: { kind: 'linux', extras: { 'srl-agents': ['x'] } } } }));
    expect(p).toEqual([
      expect.stringMatching(/^topology\.nodes\.r1\.extras\.frr\.daemons\[1\]: node r1: quaggad is not an FRR daemon containerlab's frr kind accepts/),
      expect.stringMatching(/^topology\.nodes\.n1\.extras\.srl-agents: node n1: extras\.srl-agents is not supported for kind linux/),
    ]);
  });

  it('container-only fields are accepted, each with a note naming its path', () => {
    const t = parse(lab({ defaults: { 'restart-policy': 'always' }, nodes: { a: { kind: 'linux', ports: ['80:80'], 'mgmt-ipv4': '172.20.20.2' } } }));
    expect(topologyNotes(t)).toEqual([
      'topology.defaults.restart-policy: accepted, no effect (a container setting; a namespace has no restart-policy)',
      'topology.nodes.a.ports: accepted, no effect (a container setting; a namespace has no ports)',
      'topology.nodes.a.mgmt-ipv4: accepted, no effect (a container setting; a namespace has no mgmt-ipv4)',
    ]);
  });

  it('the labs in labs/clab parse', () => {
    for (const f of ['frr-ospf', 'bird-bgp', 'plain']) {
      const t = loadTopology(join(LABS, `${f}.clab.yml`));
      expect(Object.keys(t.topology.nodes).length).toBeGreaterThan(1);
    }
    const t = loadTopology(join(LABS, 'frr-ospf.clab.yml'));
    expect(roleOf(t, 'r1')).toBe('frr');
    expect(t.topology.nodes.r1['startup-config']).toBe(join(LABS, 'frr-ospf', 'r1', 'frr.conf'));
    expect(t.topology.nodes.h1.exec).toEqual([`sh -c 'test "$LAB" = frr-ospf'`, `sh -c 'test "$CLAB_LABEL_ROLE" = edge'`, 'ip route add default via 10.10.1.1']);
  });
});

describe('refusals name the node and the field, and say what to do', () => {
  const refused = (topology: Record<string, unknown>) => problems(lab(topology));

  it('kinds weft cannot run', () => {
    for (const kind of ['nokia_srlinux', 'srl', 'ceos', 'arista_ceos', 'vr-sros', 'crpd']) {
      const p = refused({ nodes: { r1: { kind } } });
      expect(p).toEqual([expect.stringMatching(new RegExp(`^topology\\.nodes\\.r1\\.kind: must be one of linux, bridge, host, frr: node r1 is of kind ${kind}, which weft lab cannot run .*use kind frr, or kind linux with an FRR or BIRD image`))]);
    }
    expect(refused({ kinds: { nokia_srlinux: { image: 'srl' } }, nodes: { r1: {} } })).toEqual([expect.stringMatching(/^topology\.nodes\.r1\.kind: no kind: set it on the node, in its group .* or in topology\.defaults\.kind/)]);
  });

  it('a network OS image under kind linux', () => {
    expect(refused({ nodes: { r1: { kind: 'linux', image: 'ghcr.io/nokia/srlinux:23' } } })).toEqual([expect.stringMatching(/^topology\.nodes\.r1\.image: node r1: image ghcr\.io\/nokia\/srlinux:23 is a network OS .*cannot run it/)]);
  });

  it('binds weft cannot honour, by index', () => {
    const p = refused({ nodes: { r1: { kind: 'linux', image: 'frrouting/frr', binds: ['a:/etc/frr/frr.conf', 'script.sh:/script.sh', '/var/run/x'] } } });
    expect(p).toContainEqual(expect.stringMatching(/^topology\.nodes\.r1\.binds\[1\]: node r1: cannot bind script\.sh to \/script\.sh: weft lab runs no containers.*for FRR weft honours binds to \/etc\/frr\/frr\.conf.*remove the bind/));
    expect(p).toContainEqual(expect.stringMatching(/^topology\.nodes\.r1\.binds\[2\]: node r1: \/var\/run\/x is an anonymous volume/));
    expect(p).toContainEqual(expect.stringMatching(/^topology\.nodes\.r1\.binds\[0\]: node r1: .*\/a \(the host side of the bind\) does not exist/));
    // Inherited binds are reported at the node, where they apply.
    expect(refused({ defaults: { binds: ['x:/x'] }, nodes: { n1: { kind: 'linux', image: 'alpine' } } })).toEqual([expect.stringMatching(/^topology\.nodes\.n1\.binds\[0\]: node n1: cannot bind x to \/x: .*image alpine runs no FRR or BIRD/)]);
  });

  it('a startup-config nothing would apply, or that cannot be read', () => {
    expect(refused({ nodes: { n1: { kind: 'linux', image: 'alpine', 'startup-config': 'x.cfg' } } })).toEqual([expect.stringMatching(/^topology\.nodes\.n1\.startup-config: node n1: image alpine runs no routing daemon weft knows .*remove it or use such an image/)]);
    expect(refused({ nodes: { r1: { kind: 'linux', image: 'frr', 'startup-config': 'missing.conf' } } })).toEqual([expect.stringMatching(/^topology\.nodes\.r1\.startup-config: node r1: .*missing\.conf is not a file/)]);
    expect(refused({ nodes: { r1: { kind: 'linux', image: 'frr', 'startup-config': 'https://example.org/r1.cfg' } } })).toEqual([expect.stringMatching(/^topology\.nodes\.r1\.startup-config: node r1: weft lab does not download configs/)]);
  });

  it('fields that need a container, unknown fields, fields meaningless for the kind', () => {
    expect(refused({ nodes: { n1: { kind: 'linux', entrypoint: '/init' } } })).toEqual([expect.stringMatching(/^topology\.nodes\.n1\.entrypoint: .*put the command in cmd/)]);
    expect(refused({ nodes: { n1: { kind: 'linux', 'env-files': ['a.env'] } } })).toEqual([expect.stringMatching(/^topology\.nodes\.n1\.env-files: env-files are not read by weft lab: put the variables in env/)]);
    expect(refused({ nodes: { n1: { kind: 'linux', stages: {} } } })).toEqual([expect.stringMatching(/^topology\.nodes\.n1\.stages: startup stages are not supported/)]);
    expect(refused({ nodes: { n1: { kind: 'linux', 'network-mode': 'host' } } })).toEqual([expect.stringMatching(/^topology\.nodes\.n1\.network-mode: network-mode host needs docker networking/)]);
    expect(refused({ nodes: { n1: { kind: 'linux', colour: 'red' } } })).toEqual([expect.stringMatching(/^topology\.nodes\.n1\.colour: colour is not a containerlab node field weft lab supports/)]);
    expect(refused({ nodes: { sw: { kind: 'bridge', exec: ['true'] } } })).toEqual([expect.stringMatching(/^topology\.nodes\.sw\.exec: node sw is a bridge: it runs no commands/)]);
    expect(refused({ groups: { g: { entrypoint: 'x' } }, nodes: { n1: { kind: 'linux', group: 'g' } } })).toEqual([expect.stringMatching(/^topology\.groups\.g\.entrypoint: /)]);
  });

  it('a node of x-weft (ToR, host, pod) with its own FRR config: refused, its processes come from x-weft', () => {
    writeFileSync(join(dir, 'tor.conf'), 'router bgp 65001\n');
    const p = problems({ name: 't', topology: { nodes: { tor1: { kind: 'linux', image: 'frrouting/frr', 'startup-config': 'tor.conf' } } }, 'x-weft': { tors: { tor1: { frr: 'router bgp 65001' } } } });
    expect(p).toEqual([expect.stringMatching(/^topology\.nodes\.tor1: tor1 is a tor of x-weft, which decides what runs in it; remove its startup-config, binds and kind frr \(or take it out of x-weft\.tors\)/)]);
  });

  it('links weft cannot make', () => {
    const nodes = { a: { kind: 'linux' }, b: { kind: 'linux' }, sw: { kind: 'bridge' } };
    expect(refused({ nodes, links: [{ type: 'macvlan', endpoint: { node: 'a', interface: 'eth1' }, 'host-interface': 'enp0s3' }] })).toEqual([expect.stringMatching(/^topology\.links\[0\]\.type: link type macvlan is not supported/)]);
    expect(refused({ nodes, links: [{ endpoints: ['a:eth1', 'macvlan:enp0s3'] }] })).toEqual([expect.stringMatching(/^topology\.links\[0\]\.endpoints\[1\]: macvlan:enp0s3: macvlan ends attach to a real interface/)]);
    expect(refused({ nodes, links: [{ endpoints: ['a:eth1', 'b:eth1'], ipv4: ['10.0.0.1', '10.0.0.2/30'] }] })).toEqual([expect.stringMatching(/^topology\.links\[0\]\.ipv4\[0\]: must be an IPv4 address with its prefix length/)]);
    expect(refused({ nodes, links: [{ endpoints: ['a:eth1', 'sw:a'], ipv4: ['10.0.0.1/24', '10.0.0.2/24'] }] })).toEqual([expect.stringMatching(/^topology\.links\[0\]\.ipv4\[1\]: sw is a bridge: its port a takes no address/)]);
    expect(refused({ nodes, links: [{ endpoints: ['a:eth1', 'b:eth1'], vars: { ipv6: ['fd00::1/64', 'fd00::2'] } }] })).toEqual([expect.stringMatching(/^topology\.links\[0\]\.vars\.ipv6\[1\]: must be an IPv6 address with its prefix length/)]);
    expect(refused({ nodes, links: [{ endpoints: ['a:eth1', 'b:eth1'], mtu: 10 }] })).toEqual([expect.stringMatching(/^topology\.links\[0\]\.mtu: must be a whole number of bytes from 68 to 65535/)]);
    expect(refused({ nodes, links: [{ endpoints: ['a:eth1', 'b:eth1'], delay: '10ms' }] })).toEqual([expect.stringMatching(/^topology\.links\[0\]\.delay: delay is not a link field weft lab supports/)]);
    expect(refused({ nodes: { ...nodes, h1: { kind: 'host' }, h2: { kind: 'host' } } })).toEqual([expect.stringMatching(/^topology\.nodes\.h2\.kind: h1 and h2 are both of kind host, but a lab has one host/)]);
    expect(refused({ nodes: { ...nodes, host: { kind: 'linux' } }, links: [{ endpoints: ['a:eth1', 'host:x'] }] })).toEqual([expect.stringMatching(/^topology\.nodes\.host: links use host:IF ends, which land in a node named host of kind host; this node is of kind linux \(rename it\)/)]);
  });
});

// Small lab topologies (parsed YAML values) for the topology unit tests: change a field, then
// parse, to see the problem reported with its path.

/** Two hosts on one bridge, a pod each, IPv4 only. */
export function minimalTopology(): Record<string, any> {
  return {
    name: 'mini',
    topology: {
      nodes: { sw: { kind: 'bridge' }, h1: { kind: 'linux' }, h2: { kind: 'linux' }, p1: { kind: 'linux' }, p2: { kind: 'linux' } },
      links: [{ endpoints: ['h1:eth1', 'sw:h1'] }, { endpoints: ['h2:eth1', 'sw:h2'] }],
    },
    'x-weft': {
      hosts: { h1: { address: '10.77.0.1/24', blocks: ['10.244.1.0/26'] }, h2: { address: '10.77.0.2/24', blocks: ['10.244.2.0/26'] } },
      pods: { p1: { host: 'h1', address: '10.244.1.2' }, p2: { host: 'h2', address: '10.244.2.2' } },
    },
  };
}

/** The minimal topology in dual stack: IPv6 underlay addresses, an IPv6 pool, blocks and pod addresses too. */
export function dualStackTopology(): Record<string, any> {
  const v = minimalTopology();
  const x = v['x-weft'];
  v.name = 'mini6';
  x.defaults = {
    pools: [
      { cidr: '10.244.0.0/16', blockSize: 26 },
      { cidr: 'fd00:244::/56', blockSize: 122 },
    ],
  };
  for (const n of [1, 2]) {
    x.hosts[`h${n}`].address6 = `fd00:77::${n}/64`;
    x.hosts[`h${n}`].blocks.push(`fd00:244:0:${n}::/122`);
    x.pods[`p${n}`].address6 = `fd00:244:0:${n}::2`;
  }
  return v;
}

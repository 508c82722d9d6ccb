// Nexthop objects for direct routes (nexthops.ts): weft reuses its own objects after a restart,
// never takes an id another owner holds, and falls back to `via` when creating one failed.
import { describe, expect, it } from 'vitest';
import { NexthopTable } from '../../src/dataplane/nexthops.js';

const BASE = 0x77660000;
const tail = (e: { tail: Uint8Array } | undefined) => (e ? Buffer.from(e.tail).toString() : undefined);

describe('NexthopTable', () => {
  it('adopts its own objects by gateway and device; new ones skip every id in use', async () => {
    const t = new NexthopTable();
    t.adopt([
      { id: BASE, gateway: '10.0.1.12', dev: 'eth0', protocol: 'weft', group: false },
      { id: BASE + 1, gateway: '10.0.1.13', dev: 'eth0', protocol: 'zebra', group: false },
      { id: BASE + 2, protocol: 'weft', group: true },
    ]);
    expect(tail(t.get('10.0.1.12', 'eth0'))).toBe(` nhid ${BASE} proto 249`);
    expect(t.take()).toEqual([]); // nothing to create
    // 10.0.1.13 belongs to zebra's object: weft makes its own, with a free id.
    const e = t.get('10.0.1.13', 'eth0')!;
    expect(e.id).toBe(BASE + 3);
    const lines = t.take();
    expect(lines.map((l) => l.line)).toEqual([`nexthop replace id ${BASE + 3} via 10.0.1.13 dev eth0 proto 249`]);
    // The same gateway again: the same object, created once.
    expect(t.get('10.0.1.13', 'eth0')).toBe(e);
    expect(t.take()).toEqual([]);
    lines[0].settle(true);
    expect(await e.ready).toBe(true);
    expect(t.missingFrom([{ id: BASE, protocol: 'weft', group: false }])).toBe(true);
    expect(t.missingFrom([{ id: BASE, protocol: 'weft', group: false }, { id: BASE + 3, protocol: 'weft', group: false }])).toBe(false);
    expect(t.deleteLines()).toEqual([`nexthop del id ${BASE}`, `nexthop del id ${BASE + 3}`]);
  });

  it('a failed creation: routes go `via` from then on; disabled: always `via`', async () => {
    const t = new NexthopTable();
    const e = t.get('10.9.9.9', 'eth0')!;
    t.take()[0].settle(false);
    expect(await e.ready).toBe(false);
    expect(t.get('10.9.9.9', 'eth0')).toBeUndefined();
    expect(new NexthopTable(false).get('10.0.1.12', 'eth0')).toBeUndefined();
  });
});

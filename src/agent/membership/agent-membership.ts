/**
 * The agent's side of membership.etcd: the registry made from the configuration, its members
 * handed to the sessions (the same path as the nodes file), its claimed blocks to the local
 * blocks, its metrics next to the agent's. The agent imports this module only when
 * membership.etcd is configured, so an agent on a nodes file never loads etcd3 and grpc-js.
 */
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { formatPrefix, parsePrefix } from '../../lib/prefix.js';
import type { AgentConfig } from '../config/agent-config.js';
import { underlayAddresses } from '../config/config-helpers.js';
import { EtcdRegistry, type RegistryHooks } from './registry.js';

export { EtcdRegistry };

/** Starts the registry of `c.membership.etcd` (throws when its settings cannot be used, e.g. an unreadable certificate). */
export async function startRegistry(c: AgentConfig, log: Logger, hooks: RegistryHooks, metrics?: Registry): Promise<EtcdRegistry> {
  const etcd = c.membership?.etcd;
  if (!etcd) throw new Error('membership.etcd is not configured');
  const under = underlayAddresses(c);
  const main = c.node.address.address;
  const other = [under.v4?.address, under.v6?.address].find((a) => a !== undefined && a !== main);
  const registry = new EtcdRegistry(
    etcd,
    {
      name: c.node.name,
      asn: c.node.asn,
      address: main,
      port: c.listen.port,
      ...(other !== undefined ? { otherAddress: other } : {}),
      vni: c.vxlan.vni,
      pools: c.pools,
      autoBlocks: c.autoBlocks ?? 0,
      staticBlocks: () => c.blocks.map(formatPrefix),
      role: etcd.role,
      ...(etcd.cache !== false ? { cachePath: etcd.cache ?? join(dirname(c.control.socket), `${c.node.name}.registry.json`) } : {}),
    },
    hooks,
    log.child({ component: 'membership' }),
  );
  if (metrics) {
    const { registerMembershipMetrics } = await import('./membership-metrics.js');
    registerMembershipMetrics(metrics, registry.stats);
  }
  await registry.start();
  return registry;
}

/** `weft advertise` without a block (the request's prefix "auto"): the next free block, claimed for this node. */
export async function advertiseClaimed(registry: EtcdRegistry | undefined): Promise<{ prefix: string; changed: boolean }> {
  if (!registry) throw new Error('weft advertise without a block needs membership.etcd (the registry hands out blocks); give the block instead, like 10.244.3.0/26');
  return { prefix: formatPrefix(await registry.claimNext()), changed: true };
}

/** After `weft withdraw`: a block this node had claimed goes back to the pool. */
export async function releaseClaimed(registry: EtcdRegistry | undefined, prefix: string): Promise<void> {
  if (!registry) return;
  try {
    await registry.release(parsePrefix(prefix));
  } catch (e) {
    throw new Error(`${prefix} is withdrawn here, but its claim stays in the registry (${(e as Error).message}): withdraw it again once etcd answers`);
  }
}

/**
 * The registry's Prometheus metrics, added to the agent's registry when both metrics and
 * membership.etcd are on (this module, like prom-client, is loaded only then):
 *
 *   weft_membership_store_up                 1 while etcd answers, else 0
 *   weft_membership_nodes                    members from the registry (this node excluded)
 *   weft_membership_refused_total            registry entries refused (bad node record or block key)
 *   weft_membership_store_errors_total       failed etcd calls
 *   weft_membership_reregistrations_total    registrations under a new lease after a lost one
 *   weft_membership_block_claims_total       blocks claimed by this node
 *   weft_membership_block_claim_conflicts_total  claims lost to another node (it took the block first)
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RegistryStats } from './registry.js';

export function registerMembershipMetrics(registry: Registry, stats: RegistryStats): void {
  const registers = [registry];
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({ name, help, registers, collect() { this.set(read()); } });
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({ name, help, registers, collect() { this.reset(); this.inc(read()); } });
  gauge('weft_membership_store_up', '1 while the etcd registry answers, else 0 (sessions, routes and blocks stay either way)', () => (stats.up ? 1 : 0));
  gauge('weft_membership_nodes', 'mesh members from the etcd registry, this node excluded', () => stats.nodes);
  counter('weft_membership_refused_total', 'registry entries refused and never applied (a node record or block key that did not validate)', () => stats.refused);
  counter('weft_membership_store_errors_total', 'etcd calls that failed', () => stats.storeErrors);
  counter('weft_membership_reregistrations_total', 'registrations under a new lease after the old one was lost', () => stats.reregistrations);
  counter('weft_membership_block_claims_total', 'blocks this node claimed from the pools', () => stats.claims);
  counter('weft_membership_block_claim_conflicts_total', 'block claims lost to another node that took the block first', () => stats.claimConflicts);
}

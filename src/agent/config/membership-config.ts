/**
 * `membership.etcd` and `blocks: auto` (issue 15): the etcd registry's settings and the block
 * list that may instead ask the registry's allocator for blocks. Runs in the config child with
 * the rest of the schema (zod is never loaded in the agent for this).
 */
import { z } from 'zod';
import type { Prefix } from '../../lib/prefix.js';

/** http(s)://HOST:PORT, as etcd's own --advertise-client-urls. */
const endpoint = z.string().regex(/^https?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be an etcd client URL like http://10.0.0.5:2379 or https://[fd00::5]:2379');

export const membershipSchema = z.strictObject({
  etcd: z.strictObject({
    endpoints: z.array(endpoint).min(1, 'needs at least one etcd endpoint'),
    /** Every key weft reads or writes lies under it (DESIGN: key layout in membership/keys.ts). */
    prefix: z.string().regex(/^\/[A-Za-z0-9_.\-/]*[A-Za-z0-9_.-]$/, 'must start with / and not end with /, like /weft').default('/weft'),
    /** Seconds a silent agent stays registered: a host that dies leaves every mesh within this. */
    leaseTtl: z.number().int().min(2).max(3600).default(10),
    /** TLS client certificates (PEM files); both cert and key, or neither. */
    tls: z.strictObject({ ca: z.string().min(1).optional(), cert: z.string().min(1).optional(), key: z.string().min(1).optional() }).optional(),
    /** etcd user/password authentication (both or neither). */
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    /**
     * This node's route-reflection role, published in its record: `mesh` (default) peers with
     * every node; `reflector` peers with every node and reflects for the clients (needs the
     * routeReflector section); `client` peers only with the reflectors while there are any.
     */
    role: z.enum(['mesh', 'reflector', 'client']).default('mesh'),
    /**
     * A file keeping the last members and this node's claimed blocks, so that an agent restarted
     * while etcd is away starts with them (registry-cache.ts); `false`: none. Default: beside the
     * control socket, `<node name>.registry.json`.
     */
    cache: z.union([z.literal(false), z.string().min(1)]).optional(),
  }),
});

export type MembershipConfig = z.output<typeof membershipSchema>;
export type EtcdSettings = MembershipConfig['etcd'];

/**
 * `blocks:` a list of prefixes, `auto` (one block claimed from the pools) or a count of blocks to
 * claim. Dispatched by hand rather than with a union, so that a bad list entry keeps its own
 * path-qualified problem (blocks[0]: prefix ... has host bits set).
 */
export function blocksSchema<P extends z.ZodType<Prefix>>(prefix: P) {
  const list = z.array(prefix);
  return z.unknown().transform((v, ctx): Prefix[] | 'auto' | number => {
    if (v === 'auto') return 'auto';
    if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 256) return v;
    if (Array.isArray(v)) {
      const r = list.safeParse(v);
      if (r.success) return r.data;
      for (const i of r.error.issues) ctx.addIssue({ code: 'custom', message: i.message, path: i.path });
      return z.NEVER;
    }
    ctx.addIssue({ code: 'custom', message: `must be a list of prefixes, "auto", or a number of blocks to claim (1..256) (got ${JSON.stringify(v)})` });
    return z.NEVER;
  }).default([]);
}

/** The parsed config with `blocks` always a list; `autoBlocks`: how many the allocator claims. */
export function splitBlocks<T extends { blocks: Prefix[] | 'auto' | number }>(c: T): Omit<T, 'blocks'> & { blocks: Prefix[]; autoBlocks?: number } {
  const { blocks, ...rest } = c;
  if (Array.isArray(blocks)) return { ...rest, blocks };
  return { ...rest, blocks: [], autoBlocks: blocks === 'auto' ? 1 : blocks };
}

/** Settings that only make sense together. */
export function membershipProblems(c: { autoBlocks?: number; membership?: MembershipConfig; pools: readonly unknown[]; routeReflector?: unknown }): string[] {
  const out: string[] = [];
  const e = c.membership?.etcd;
  if (c.autoBlocks !== undefined && e === undefined) out.push('blocks: auto (or a count) needs membership.etcd: blocks are claimed from the pools in the etcd registry');
  if (c.autoBlocks !== undefined && c.pools.length === 0) out.push('blocks: auto (or a count) needs at least one pool to claim blocks from');
  if (e && (e.username === undefined) !== (e.password === undefined)) out.push('membership.etcd: give both username and password, or neither');
  if (e?.role === 'reflector' && c.routeReflector === undefined) out.push('membership.etcd.role: reflector needs a routeReflector section (this node reflects for its clients; routeReflector: {} takes the router id as cluster id)');
  if (e?.tls && (e.tls.cert === undefined) !== (e.tls.key === undefined)) out.push('membership.etcd.tls: give both cert and key (the client certificate and its key), or neither');
  return out;
}

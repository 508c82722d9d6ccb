/**
 * Block allocation as pure logic: the blocks of a pool, and the next free one given the set
 * already claimed. The etcd part (registry-blocks.ts) only turns a choice into a compare-and-set
 * transaction and retries with the loser's knowledge when another host won the race.
 *
 * Blocks are counted with bigint so that IPv6 pools (a /64 of /122 blocks is 2^58 blocks) work
 * the same as IPv4 ones; nothing ever enumerates a pool: a search steps over claimed blocks only,
 * so it ends after at most (claimed in the pool + 1) steps.
 */
import { ipv6ToBytes, bytesToIpv6 } from '../../lib/address.js';
import { formatPrefix, prefixContains, prefixLength, v4Address, v4Prefix, type Prefix } from '../../lib/prefix.js';

export interface PoolShape {
  cidr: Prefix;
  blockSize: number;
}

const bits = (p: Prefix) => (typeof p === 'number' ? 32 : 128);

/** How many blocks of blockSize the pool holds. */
export function blockCount(pool: PoolShape): bigint {
  return 1n << BigInt(pool.blockSize - prefixLength(pool.cidr));
}

function v6ToBig(p: string): bigint {
  const b = ipv6ToBytes(p.slice(0, p.indexOf('/')));
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

function bigToV6(n: bigint, len: number): string {
  const b = new Uint8Array(16);
  for (let i = 15; i >= 0; i--) {
    b[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return `${bytesToIpv6(b)}/${len}`;
}

/** Block number `i` (0-based) of the pool. */
export function blockAt(pool: PoolShape, i: bigint): Prefix {
  const step = 1n << BigInt(bits(pool.cidr) - pool.blockSize);
  if (typeof pool.cidr === 'number') return v4Prefix(v4Address(pool.cidr) + Number(i * step), pool.blockSize);
  return bigToV6(v6ToBig(pool.cidr) + i * step, pool.blockSize);
}

/** The number of `block` in the pool, or undefined when it is not exactly one block of it. */
export function blockIndex(pool: PoolShape, block: Prefix): bigint | undefined {
  if (prefixLength(block) !== pool.blockSize || !prefixContains(pool.cidr, block)) return undefined;
  const shift = BigInt(bits(pool.cidr) - pool.blockSize);
  if (typeof block === 'number' && typeof pool.cidr === 'number') return BigInt(v4Address(block) - v4Address(pool.cidr)) >> shift;
  if (typeof block === 'string' && typeof pool.cidr === 'string') return (v6ToBig(block) - v6ToBig(pool.cidr)) >> shift;
  return undefined;
}

/**
 * The first free block at or after block number `start` (wrapping around the pool), or undefined
 * when every block is claimed. `claimed` may hold blocks of other pools: they are ignored.
 */
export function nextFreeBlock(pool: PoolShape, claimed: ReadonlySet<Prefix>, start = 0n): Prefix | undefined {
  const count = blockCount(pool);
  let inPool = 0n;
  for (const c of claimed) if (blockIndex(pool, c) !== undefined) inPool++;
  if (inPool >= count) return undefined;
  let i = ((start % count) + count) % count;
  // Each step passes one claimed block, so this ends after at most inPool + 1 steps.
  for (;;) {
    const b = blockAt(pool, i);
    if (!claimed.has(b)) return b;
    i = (i + 1n) % count;
  }
}

/**
 * Where a host starts looking (FNV-1a of its name, modulo the block count): a hundred agents
 * starting at once then mostly try different blocks instead of all racing for block 0, as
 * Calico's allocator starts at a random block. Released blocks are found again when the search
 * wraps round.
 */
export function searchStart(name: string, pool: PoolShape): bigint {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return BigInt(h) % blockCount(pool);
}

/** The pool `block` is exactly one block of, if any. */
export function poolOf(pools: readonly PoolShape[], block: Prefix): PoolShape | undefined {
  return pools.find((p) => blockIndex(p, block) !== undefined);
}

export const describePool = (p: PoolShape) => `${formatPrefix(p.cidr)} (blocks /${p.blockSize})`;

/** Reusable zod schemas for addresses, prefixes, AS numbers and communities in weft's configs. */
import { z } from 'zod';
import { isIpv4, isIpv6 } from '../../lib/address.js';
import { parsePrefix, type Prefix } from '../../lib/prefix.js';

export const asn = z
  .number({ error: 'must be an AS number (1..4294967295)' })
  .int('must be a whole number')
  .min(1, 'AS 0 is reserved (RFC 7607)')
  .max(4294967295, 'must fit in 4 octets (max 4294967295)');

export const ipv4 = z.string().refine(isIpv4, { message: 'must be an IPv4 address (a.b.c.d)' });
export const ipAddress = z.string().refine((s) => isIpv4(s) || isIpv6(s), { message: 'must be an IPv4 or IPv6 address' });

export const prefix = z.string().transform((s, ctx): Prefix => {
  try {
    return parsePrefix(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

/** RFC 4271 4.2: 0, or at least 3 seconds. */
export const holdTime = z
  .number()
  .int()
  .min(0)
  .max(65535)
  .refine((v) => v === 0 || v >= 3, { message: 'hold time must be 0 or at least 3 seconds (RFC 4271 4.2)' });

export const port = z.number().int().min(1).max(65535);

/**
 * A TCP MD5 key (RFC 2385): 1 to 80 bytes (Linux's TCP_MD5SIG_MAXKEYLEN), as BIRD's `password`
 * and FRR's `neighbor X password` take it. Never logged nor shown (status says only `md5: true`).
 */
export const md5Password = z.string().refine((s) => s.length > 0 && Buffer.byteLength(s) <= 80, {
  message: 'must be 1 to 80 bytes (the longest TCP MD5 key Linux takes)',
});

/** "65000:100" -> 32-bit value (RFC 1997), or the well-known names. */
export const community = z.string().transform((s, ctx): number => {
  const named: Record<string, number> = {
    'no-export': 0xffffff01,
    'no-advertise': 0xffffff02,
    'no-export-subconfed': 0xffffff03,
    'graceful-shutdown': 0xffff0000,
    blackhole: 0xffff029a,
  };
  if (named[s] !== undefined) return named[s];
  const m = /^(\d+):(\d+)$/.exec(s);
  if (!m || Number(m[1]) > 65535 || Number(m[2]) > 65535) {
    ctx.addIssue({ code: 'custom', message: `community ${JSON.stringify(s)} must be ASN:VALUE with both parts 0..65535` });
    return z.NEVER;
  }
  return Number(m[1]) * 65536 + Number(m[2]);
});

/** "4200000001:1:2" (RFC 8092: three 4-octet parts). */
export const largeCommunity = z.string().transform((s, ctx): [number, number, number] => {
  const m = /^(\d+):(\d+):(\d+)$/.exec(s);
  const parts = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [];
  if (!m || parts.some((p) => p > 4294967295)) {
    ctx.addIssue({ code: 'custom', message: `large community ${JSON.stringify(s)} must be GLOBAL:LOCAL1:LOCAL2, each 0..4294967295` });
    return z.NEVER;
  }
  return parts as [number, number, number];
});

/** Seconds between KEEPALIVEs: at least 1, at most a third of the largest hold time (RFC 4271 4.4). */
export const keepaliveSeconds = z.number().int().min(1).max(21845);

/** Seconds between connection attempts (RFC 4271 8: ConnectRetryTimer). */
export const connectRetrySeconds = z.number().int().min(1).max(65535);

/**
 * The fields every configured BGP neighbour has, in `weft agent` (peers) and `weft peer` (peers)
 * alike; each config spreads this shape into its own strict object and adds its own fields. The
 * default connect retry differs between the two, so the caller gives that field.
 */
export function neighbourShape<R extends z.ZodType>(connectRetry: R) {
  return {
    name: z.string().min(1).optional(),
    address: ipAddress,
    asn: z.union([asn, z.enum(['internal', 'external'])]),
    port: port.default(179),
    localAddress: ipAddress.optional(),
    holdTime: holdTime.default(90),
    keepalive: keepaliveSeconds.optional(),
    connectRetry,
    passive: z.boolean().default(false),
    /** TCP MD5 signatures (RFC 2385) on this session's connections. */
    password: md5Password.optional(),
  };
}

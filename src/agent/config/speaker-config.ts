/**
 * The configuration of `weft peer`: one speaker, a few neighbours, a few routes to announce.
 * (The full agent configuration of DESIGN.md builds on these pieces.) Validated with zod; errors
 * name the field path.
 */
import { z } from 'zod';
import { ConfigError, readYamlFile, issuesToProblems } from './config-errors.js';
import { asn, community, connectRetrySeconds, ipAddress, ipv4, largeCommunity, neighbourShape, port, prefix } from './schema-types.js';

const family = z.enum(['ipv4-unicast', 'ipv6-unicast']);

const peerSchema = z.strictObject({
  ...neighbourShape(connectRetrySeconds.default(30)),
  families: z.array(family).min(1).default(['ipv4-unicast']),
});

const routeSchema = z.strictObject({
  prefix,
  nextHop: ipAddress.optional(),
  communities: z.array(community).default([]),
  largeCommunities: z.array(largeCommunity).default([]),
  med: z.number().int().min(0).max(4294967295).optional(),
  localPref: z.number().int().min(0).max(4294967295).optional(),
});

export const speakerConfigSchema = z.strictObject({
  asn,
  routerId: ipv4,
  listen: z.union([z.literal(false), z.strictObject({ address: ipAddress.default('0.0.0.0'), port: port.default(179) })]).default({
    address: '0.0.0.0',
    port: 179,
  }),
  peers: z.array(peerSchema).min(1, 'at least one peer is needed'),
  announce: z.array(routeSchema).default([]),
});

export type SpeakerConfig = z.output<typeof speakerConfigSchema>;
export type SpeakerPeerConfig = SpeakerConfig['peers'][number];
export type AnnouncedRoute = SpeakerConfig['announce'][number];

export function parseSpeakerConfig(value: unknown, source: string): SpeakerConfig {
  const r = speakerConfigSchema.safeParse(value);
  if (!r.success) throw new ConfigError(source, issuesToProblems(r.error.issues));
  const seen = new Set<string>();
  const dupes = r.data.peers.flatMap((p, i) => (seen.has(p.address) ? [`peers[${i}].address: ${p.address} is configured twice`] : (seen.add(p.address), [])));
  if (dupes.length) throw new ConfigError(source, dupes);
  return r.data;
}

export function loadSpeakerConfig(file: string): SpeakerConfig {
  return parseSpeakerConfig(readYamlFile(file), file);
}

/**
 * Builders for path attributes with the flags the attribute table gives them, so code outside
 * the codec never writes flag octets by hand: `attr.origin(Origin.IGP)`, `attr.asPath([64512])`,
 * `attr.nextHop('10.0.0.1')`, ...
 */
import { ATTRIBUTES, type AttrOf, type KnownAttrType } from './attributes.js';
import { sequenceSegments } from './attr-as-path.js';
import { AttrFlag } from './iana.js';
import type { AsPathSegment, ExtCommunity, MpReach, MpUnreach, PathAttribute } from './types.js';

function flagsOf(t: KnownAttrType): number {
  return ATTRIBUTES[t].flags;
}

/** A plain list of AS numbers becomes AS_SEQUENCE segments (255 AS each); segments pass as they are. */
function segmentsOf(path: readonly number[] | readonly AsPathSegment[]): AsPathSegment[] {
  if (path.length === 0) return [];
  return typeof path[0] === 'number' ? sequenceSegments(path as readonly number[]) : [...(path as readonly AsPathSegment[])];
}

export const attr = {
  origin: (origin: number): AttrOf<'origin'> => ({ type: 'origin', flags: flagsOf('origin'), origin }),
  asPath: (path: readonly number[] | readonly AsPathSegment[]): AttrOf<'as-path'> => ({
    type: 'as-path',
    flags: flagsOf('as-path'),
    segments: segmentsOf(path),
  }),
  nextHop: (nextHop: string): AttrOf<'next-hop'> => ({ type: 'next-hop', flags: flagsOf('next-hop'), nextHop }),
  med: (med: number): AttrOf<'med'> => ({ type: 'med', flags: flagsOf('med'), med }),
  localPref: (localPref: number): AttrOf<'local-pref'> => ({ type: 'local-pref', flags: flagsOf('local-pref'), localPref }),
  atomicAggregate: (): AttrOf<'atomic-aggregate'> => ({ type: 'atomic-aggregate', flags: flagsOf('atomic-aggregate') }),
  aggregator: (asn: number, address: string): AttrOf<'aggregator'> => ({ type: 'aggregator', flags: flagsOf('aggregator'), asn, address }),
  communities: (communities: readonly number[]): AttrOf<'communities'> => ({
    type: 'communities',
    flags: flagsOf('communities'),
    communities: [...communities],
  }),
  originatorId: (originatorId: string): AttrOf<'originator-id'> => ({ type: 'originator-id', flags: flagsOf('originator-id'), originatorId }),
  clusterList: (clusterIds: readonly string[]): AttrOf<'cluster-list'> => ({
    type: 'cluster-list',
    flags: flagsOf('cluster-list'),
    clusterIds: [...clusterIds],
  }),
  /** MP attributes get the Extended Length flag: their NLRI lists are often longer than 255 octets. */
  mpReach: (reach: MpReach): AttrOf<'mp-reach'> => ({ type: 'mp-reach', flags: flagsOf('mp-reach') | AttrFlag.EXTENDED_LENGTH, reach }),
  mpUnreach: (unreach: MpUnreach): AttrOf<'mp-unreach'> => ({
    type: 'mp-unreach',
    flags: flagsOf('mp-unreach') | AttrFlag.EXTENDED_LENGTH,
    unreach,
  }),
  extCommunities: (communities: readonly ExtCommunity[]): AttrOf<'ext-communities'> => ({
    type: 'ext-communities',
    flags: flagsOf('ext-communities'),
    communities: [...communities],
  }),
  as4Path: (path: readonly number[] | readonly AsPathSegment[]): AttrOf<'as4-path'> => ({
    type: 'as4-path',
    flags: flagsOf('as4-path'),
    segments: segmentsOf(path),
  }),
  as4Aggregator: (asn: number, address: string): AttrOf<'as4-aggregator'> => ({
    type: 'as4-aggregator',
    flags: flagsOf('as4-aggregator'),
    asn,
    address,
  }),
  largeCommunities: (communities: readonly (readonly [number, number, number])[]): AttrOf<'large-communities'> => ({
    type: 'large-communities',
    flags: flagsOf('large-communities'),
    communities: communities.map(([g, a, b]): [number, number, number] => [g, a, b]),
  }),
  /** An attribute weft does not know, optional transitive unless flags say otherwise. */
  unknown: (code: number, data: Uint8Array, flags: number = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE): PathAttribute => ({
    type: 'unknown',
    flags,
    code,
    data,
  }),
} as const;

/** The public RIB API: pure routing core (Adj-RIB-In, Loc-RIB, decision, policy, Adj-RIB-Out). Re-exports only. */
export * from './adj-rib-in.js';
export * from './attrs.js';
export * from './decision.js';
export * from './export.js';
export * from './loc-rib.js';
export * from './peer.js';
export * from './policy.js';
export * from './policy-change.js';

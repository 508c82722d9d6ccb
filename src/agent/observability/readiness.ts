/**
 * /readyz: the agent is ready when it has started (the BGP listener is open), every configured
 * peer has been attempted at least once, and the kernel data plane (when enabled) has written
 * everything asked of it so far. Pure: the agent hands in what it knows.
 */

export interface ReadinessPeer {
  id: string;
  /** The session was started and has tried (dialling, or waiting for the peer's connection). */
  attempted: boolean;
}

export interface ReadinessInput {
  started: boolean;
  peers: readonly ReadinessPeer[];
  /** undefined: no kernel data plane (dataplane.enabled false). */
  dataplane?: { inSync: boolean };
}

export interface Readiness {
  ready: boolean;
  /** What is not ready, one line each. */
  notReady: string[];
}

export function readiness(r: ReadinessInput): Readiness {
  const notReady: string[] = [];
  if (!r.started) notReady.push('agent: still starting (the BGP listener is not open yet)');
  for (const p of r.peers) if (!p.attempted) notReady.push(`peer ${p.id}: no connection attempted yet`);
  if (r.dataplane && !r.dataplane.inSync) notReady.push('dataplane: kernel not in sync yet (changes queued or being written)');
  return { ready: notReady.length === 0, notReady };
}

/**
 * A session has been attempted once its FSM left Idle (ManualStart: Connect dials, Active waits
 * for the peer) or it has been Established or given up a dial before (RFC 4271 8.2.2: errors send
 * it back to Idle for a while).
 */
export function peerAttempted(p: { state: { name: string }; counters: { establishedTransitions: number; dialTimeouts: number; messagesIn: number } }): boolean {
  return p.state.name !== 'Idle' || p.counters.establishedTransitions > 0 || p.counters.dialTimeouts > 0 || p.counters.messagesIn > 0;
}

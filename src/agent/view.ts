/**
 * The narrow, read-only view of the agent that its parts get instead of the whole Agent: the
 * control replies (control/views.ts) and the kernel bridge (kernel/) read the configuration, the
 * RIBs, the sessions and the local blocks through it, and change nothing.
 */
import type { Prefix } from '../lib/prefix.js';
import type { AdjRibOut } from '../rib/export.js';
import type { Rib } from '../rib/loc-rib.js';
import type { AgentConfig } from './config/agent-config.js';
import type { PeerEntry } from './peers/agent-peers.js';
import type { GracefulRestartView } from './control/protocol.js';

export interface AgentView {
  readonly config: AgentConfig;
  readonly rib: Rib;
  readonly ribOut: AdjRibOut;
  /** The sessions, by peer address. */
  readonly entries: ReadonlyMap<string, PeerEntry>;
  localBlocks(): Prefix[];
  /** Graceful restart state of a peer (RFC 4724), once the agent has started. */
  gracefulRestartView?(e: PeerEntry): GracefulRestartView | undefined;
}

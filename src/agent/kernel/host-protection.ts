/**
 * Host protection (issue 13): weft's nftables table `inet weft` kept in step with who may talk to
 * this host, reconciled like the routes (dataplane/host-firewall.ts plans it, nft-runner.ts
 * writes and reads it):
 * - start: a table that already matches the plan is adopted (nothing written: a restart never
 *   opens a gap); otherwise the whole table is replaced in one transaction. When that fails (no
 *   nft, no nf_tables) the agent refuses to start: never a half-open host.
 * - membership (peers applied from config, reload, nodes file) replans at once; a changed plan is
 *   written in one transaction.
 * - every checkInterval (1 s) the table is read back; missing, flushed or altered: written again.
 * - stop: the table stays (the host stays protected while weft restarts). Disabled with the table
 *   present (hostProtection turned off): the table is removed, at start or on reload.
 */
import type { Logger } from 'pino';
import { formatPrefix } from '../../lib/prefix.js';
import { droppedCounts, firewallDifference, FIREWALL_FAMILY, FIREWALL_TABLE, planFirewall, summarizeNftJson, type FirewallInput, type FirewallPlan } from '../../dataplane/host-firewall.js';
import type { AgentConfig } from '../config/agent-config.js';
import type { HostProtectionStatus } from '../control/protocol.js';
import type { Scheduler, Timer } from '../io/scheduler.js';
import { logEvent } from '../observability/log-events.js';
import { NftMissing, type NftRunner } from './nft-runner.js';

export type FirewallMembers = Pick<FirewallInput, 'bgp' | 'vxlan' | 'bfd'>;

export interface HostProtectionDeps {
  config: () => AgentConfig;
  members: () => FirewallMembers;
  runner: NftRunner;
  scheduler: Scheduler;
  log: Logger;
  /** With hostProtection off, remove a table left from when it was on (agents that own the host's kernel). */
  removeWhenOff: boolean;
}

const TABLE = `${FIREWALL_FAMILY} ${FIREWALL_TABLE}`;

export class HostProtection {
  private timer: Timer | undefined;
  private plan: FirewallPlan | undefined;
  private busy = false;
  private again = false;
  private stopped = false;
  /** start() has run: changes before it wait for it (it writes the whole plan anyway). */
  private started = false;
  private lastReconcile: string | undefined;
  private lastWrite: string | undefined;
  private lastError: string | undefined;
  private writes = 0;
  private repairs = 0;
  private dropped: Record<string, number> = {};

  constructor(private readonly d: HostProtectionDeps) {}

  private get enabled(): boolean {
    return this.d.config().hostProtection.enabled;
  }

  private desired(): FirewallPlan {
    const c = this.d.config();
    // Every VNI weft uses: vxlan.vni, and each pool's own (pools[].vni: a separate overlay).
    const poolVnis = c.pools.flatMap((p) => (p.vni === undefined ? [] : [p.vni]));
    const isolation = c.pools
      .filter((p) => p.isolated)
      .map((p) => ({ pool: formatPrefix(p.cidr), others: c.pools.filter((q) => q !== p).map((q) => formatPrefix(q.cidr)) }));
    return planFirewall({ bgpPort: c.listen.port, vxlanPort: c.vxlan.port, vnis: [c.vxlan.vni, ...poolVnis], ...this.d.members(), ...(isolation.length > 0 ? { isolation } : {}) });
  }

  /** Adopts or writes the table (throws when it cannot: the agent must not start half-open). */
  async start(): Promise<void> {
    this.started = true;
    if (!this.enabled) {
      await this.removeIfPresent('start');
      return;
    }
    try {
      await this.d.runner.version();
    } catch (e) {
      const why = e instanceof NftMissing ? e.message : (e as Error).message;
      throw new Error(`hostProtection.enabled is true but ${why}; or set hostProtection.enabled: false`);
    }
    await this.reconcile('start', true);
    this.schedule();
  }

  /** The members or the config changed: replan now (and start or stop following the config). */
  update(why: string): void {
    if (this.stopped || !this.started) return;
    if (!this.enabled) {
      this.timer?.cancel();
      this.timer = undefined;
      if (this.plan) {
        this.plan = undefined;
        void this.removeIfPresent(why);
      }
      return;
    }
    void this.reconcile(why, false).catch(() => undefined);
    if (!this.timer) this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  status(): HostProtectionStatus {
    return {
      enabled: this.enabled,
      table: TABLE,
      sets: this.plan ? { ...this.plan.sizes } : {},
      dropped: { ...this.dropped },
      writes: this.writes,
      repairs: this.repairs,
      ...(this.lastReconcile ? { lastReconcile: this.lastReconcile } : {}),
      ...(this.lastWrite ? { lastWrite: this.lastWrite } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private schedule(): void {
    const ms = this.d.config().hostProtection.checkInterval * 1000;
    this.timer = this.d.scheduler.after(
      ms,
      () => {
        this.timer = undefined;
        if (this.stopped || !this.enabled) return;
        void this.reconcile('check', false)
          .catch(() => undefined)
          .finally(() => {
            if (!this.stopped && this.enabled && !this.timer) this.schedule();
          });
      },
      true,
    );
  }

  /**
   * Reads the table back and writes the plan when they differ. One at a time: a request while one
   * runs makes it run once more after. `strict` (start) rethrows a failed write.
   */
  private async reconcile(why: string, strict: boolean): Promise<void> {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.again = false;
        await this.once(why, strict);
      } while (this.again && !this.stopped);
    } finally {
      this.busy = false;
    }
  }

  private async once(why: string, strict: boolean): Promise<void> {
    try {
      const plan = this.desired();
      const json = await this.d.runner.list();
      const diff = firewallDifference(plan.summary, summarizeNftJson(json));
      if (json !== undefined) this.dropped = droppedCounts(json);
      const planChanged = this.plan !== undefined && this.plan.text !== plan.text;
      this.plan = plan;
      this.lastReconcile = new Date(this.d.scheduler.wallClock()).toISOString();
      if (diff === undefined) {
        if (why === 'start') logEvent(this.d.log, 'firewall.adopted', { table: TABLE, sets: plan.sizes });
        this.lastError = undefined;
        return;
      }
      const started = this.d.scheduler.now();
      await this.d.runner.apply(plan.text);
      this.writes++;
      this.lastWrite = new Date(this.d.scheduler.wallClock()).toISOString();
      this.lastError = undefined;
      const ms = Math.round(this.d.scheduler.now() - started);
      if (why === 'check' && !planChanged) {
        this.repairs++;
        logEvent(this.d.log, 'firewall.repaired', { table: TABLE, found: diff, ms });
      } else {
        logEvent(this.d.log, 'firewall.written', { table: TABLE, why, found: diff, sets: plan.sizes, ms });
      }
    } catch (e) {
      const msg = (e as Error).message;
      if (this.lastError !== msg) logEvent(this.d.log, 'firewall.error', { table: TABLE, why, error: msg });
      this.lastError = msg;
      if (strict) throw new Error(`host protection: table ${TABLE} could not be written: ${msg}`);
    }
  }

  private async removeIfPresent(why: string): Promise<void> {
    if (!this.d.removeWhenOff) return;
    try {
      if ((await this.d.runner.list()) === undefined) return;
      await this.d.runner.apply(`delete table ${TABLE}\n`);
      logEvent(this.d.log, 'firewall.removed', { table: TABLE, why });
    } catch (e) {
      // No nft at all: there is no table to remove either.
      if (!(e instanceof NftMissing)) logEvent(this.d.log, 'firewall.error', { table: TABLE, why, error: (e as Error).message });
    }
  }
}

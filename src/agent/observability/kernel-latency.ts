/**
 * Update-to-kernel latency: from an UPDATE's arrival to the acknowledgement of the kernel batch
 * that carried its routes. Used only when metrics are on (the agent makes one then); no
 * prom-client here, the histogram is handed in as `observe`.
 *
 * How, without a tag per route (1M routes): the agent notes the arrival of each UPDATE that
 * changed the Loc-RIB; the flush that hands those changes to the data plane closes them into a
 * group stamped with the data plane queue's marks at that moment (dataplane/queue-marks.ts);
 * when the data plane reports that everything up to some marks has been written ('applied'),
 * every group at or below them is observed, once per UPDATE. Cost per UPDATE: one clock read
 * and one array slot; per written slice (<= 2000 prefixes): one comparison per finished group.
 */
import type { QueueMarks } from '../../dataplane/queue-marks.js';

/** What the kernel bridge tells the metrics (kernel/dataplane-bridge.ts `observer`). */
export interface DataplaneObserver {
  /** An UPDATE changed the Loc-RIB; its changes go to the data plane with the next flush. */
  arrived(): void;
  /** The flush's changes are queued in the data plane up to `mark`. */
  handedOff(mark: QueueMarks): void;
  /** The flush's changes did not go to the data plane (it is stopping or not started). */
  dropped(): void;
  /** Everything queued up to `mark` is in the kernel. */
  applied(mark: QueueMarks): void;
  /** A batch of iproute2 lines was written (full plan or incremental slice). */
  batch(ms: number, full: boolean): void;
}

interface Group {
  mark: QueueMarks;
  arrivals: number[];
}

/** At most this many UPDATEs wait for the kernel; beyond, the oldest groups are dropped unobserved. */
const MAX_WAITING = 1_000_000;

export class KernelLatency implements DataplaneObserver {
  private arrivals: number[] = [];
  private readonly groups: Group[] = [];
  private head = 0;
  private waiting = 0;

  constructor(
    private readonly now: () => number,
    private readonly observeLatency: (seconds: number) => void,
    private readonly observeBatch: (seconds: number, full: boolean) => void,
  ) {}

  arrived(): void {
    this.arrivals.push(this.now());
  }

  handedOff(mark: QueueMarks): void {
    if (this.arrivals.length === 0) return;
    this.groups.push({ mark, arrivals: this.arrivals });
    this.waiting += this.arrivals.length;
    this.arrivals = [];
    // A data plane that never catches up must not make this grow without bound.
    while (this.waiting > MAX_WAITING && this.head < this.groups.length) this.waiting -= this.groups[this.head++].arrivals.length;
    this.compact();
  }

  dropped(): void {
    this.arrivals = [];
  }

  applied(mark: QueueMarks): void {
    if (this.head === this.groups.length) return;
    const t = this.now();
    while (this.head < this.groups.length) {
      const g = this.groups[this.head];
      if (g.mark.v4 > mark.v4 || g.mark.v6 > mark.v6) break;
      for (const a of g.arrivals) this.observeLatency((t - a) / 1000);
      this.waiting -= g.arrivals.length;
      this.head++;
    }
    this.compact();
  }

  batch(ms: number, full: boolean): void {
    this.observeBatch(ms / 1000, full);
  }

  /** UPDATEs noted and not yet observed (tests). */
  get pending(): number {
    return this.waiting + this.arrivals.length;
  }

  private compact(): void {
    if (this.head === this.groups.length) {
      this.groups.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.groups.length) {
      this.groups.splice(0, this.head);
      this.head = 0;
    }
  }
}

/**
 * The data plane's queue of changed prefixes, counting what went in and what was taken out per
 * family. Each family's queue is FIFO (PrefixQueue), so "taken >= the count pushed when X was
 * queued", in both families, means X has been planned: once the pass that planned it is written,
 * X is in the kernel. The agent measures update-to-kernel latency with these marks
 * (agent/observability/kernel-latency.ts) without a tag per prefix.
 */
import { PrefixQueue } from '../lib/prefix-map.js';
import type { Prefix } from '../lib/prefix.js';

/** Prefixes counted per family since the queue was made (monotonic). */
export interface QueueMarks {
  readonly v4: number;
  readonly v6: number;
}

export class MarkedQueue extends PrefixQueue {
  private pushed4 = 0;
  private pushed6 = 0;
  private taken4 = 0;
  private taken6 = 0;

  override push(p: Prefix): void {
    if (typeof p === 'string') this.pushed6++;
    else this.pushed4++;
    super.push(p);
  }

  override take(max: number): Prefix[] {
    const out = super.take(max);
    for (const p of out) {
      if (typeof p === 'string') this.taken6++;
      else this.taken4++;
    }
    return out;
  }

  /** What has been queued so far. */
  pushedMarks(): QueueMarks {
    return { v4: this.pushed4, v6: this.pushed6 };
  }

  /** What has been taken (planned) so far. */
  takenMarks(): QueueMarks {
    return { v4: this.taken4, v6: this.taken6 };
  }
}

/** The data plane: desired routes/tunnels -> reconcile with the kernel through an IpDriver (iproute2 by default). */
export * from './model.js';
export * from './kernel-state.js';
export * from './planner.js';
export { Dataplane, type DataplaneOptions, type DataplaneDeps, type DataplaneStats, type BatchRecord } from './dataplane.js';
export type { IpDriver, BatchStream, BatchError, BatchResult, MonitorEvent, MonitorHandle } from './ip-driver.js';
export { BatchProcess } from './iproute2-batch.js';
export { Iproute2Driver, readKernel, parseMonitorLine, KernelMonitor, type KernelTarget } from './iproute2.js';
export { readKernelState, readKernelRest, streamKernelRoutes } from './kernel-read.js';
export { MemoryKernel, type MemRoute, type MemLink, type MemNexthop, type MemBatch } from './memory-kernel.js';
export { nextPass, resyncTimer, pauseMonitor, mergeResync, type LoopState, type PassChoice, type ResyncReason } from './pass-choice.js';

/** The data plane: desired routes/tunnels -> reconcile with the kernel through iproute2. */
export * from './model.js';
export * from './kernel-state.js';
export * from './planner.js';
export { Dataplane, type DataplaneOptions, type DataplaneStats, type BatchRecord } from './dataplane.js';
export { BatchProcess, type BatchError, type BatchResult } from './iproute2-batch.js';
export { readKernel, parseMonitorLine, KernelMonitor, type MonitorEvent, type KernelTarget } from './iproute2.js';

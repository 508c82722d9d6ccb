/** The public wire API: the pure BGP codec. Re-exports only. */
export * from './capabilities.js';
export * from './errors.js';
export * from './framer.js';
export * from './iana.js';
export * from './keepalive.js';
export * from './message.js';
export * from './notification.js';
export * from './open.js';
export * from './route-refresh.js';
export * from './types.js';
export * from './update.js';

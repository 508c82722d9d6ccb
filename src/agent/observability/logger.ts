/** pino loggers: JSON lines by default, one child logger per peer (see log-events.ts). */
import { pino, type Logger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export function createLogger(level: LogLevel = 'info', destination: number | string = 1): Logger {
  return pino(
    { level, base: { name: 'weft' }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: destination, sync: true }),
  );
}

export function peerLogger(log: Logger, peer: string): Logger {
  return log.child({ peer });
}

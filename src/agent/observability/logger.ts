/**
 * pino loggers, one child logger per peer (see log-events.ts). Two formats:
 * - json: one JSON object per line (pino's numeric `level`), for log shippers and tests;
 * - pretty: pino-pretty's human-readable lines with level names, colours on a terminal. It is
 *   loaded only when chosen (it is not resident otherwise).
 * `auto` (the default) is pretty when the destination is a terminal, json otherwise.
 */
import { createRequire } from 'node:module';
import { isatty } from 'node:tty';
import { pino, type DestinationStream, type Logger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The format `auto` stands for on this destination (a file descriptor number or a path). */
export function resolveLogFormat(format: LogFormat, destination: number | string, tty: (fd: number) => boolean = isatty): 'json' | 'pretty' {
  if (format !== 'auto') return format;
  return typeof destination === 'number' && tty(destination) ? 'pretty' : 'json';
}

/** pino-pretty's options for weft: level names, local time, the peer and event name up front. */
function prettyStream(destination: number | string, colorize: boolean): DestinationStream {
  const require = createRequire(import.meta.url);
  const pretty = require('pino-pretty') as (o: Record<string, unknown>) => DestinationStream;
  return pretty({
    destination,
    sync: true,
    colorize,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname,name,event,peer',
    messageFormat: '{if peer}[{peer}] {end}{if event}{event}: {end}{msg}',
  });
}

export function createLogger(level: LogLevel = 'info', destination: number | string = 1, format: LogFormat = 'auto'): Logger {
  const options = { level, base: { name: 'weft' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (resolveLogFormat(format, destination) === 'pretty') {
    return pino(options, prettyStream(destination, typeof destination === 'number' && isatty(destination)));
  }
  return pino(options, pino.destination({ dest: destination, sync: true }));
}

export function peerLogger(log: Logger, peer: string): Logger {
  return log.child({ peer });
}

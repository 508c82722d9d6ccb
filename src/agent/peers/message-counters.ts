/**
 * Per-peer message counters by BGP message type, both ways, and the last NOTIFICATION sent and
 * received (what `weft neighbor X` shows, like `gobgp neighbor X` "Message statistics" and BIRD's
 * "Last error"). Counted where the Peer writes a message and where a framed message reaches it,
 * so they cover every session of the peer (collision races included) for the life of the Peer.
 */
import { MessageType } from '../../wire/iana.js';
import type { NotificationMessage } from '../../wire/types.js';

/** The message types of RFC 4271 4.1 and RFC 2918 3, by their names. */
export const MESSAGE_TYPES = ['OPEN', 'UPDATE', 'NOTIFICATION', 'KEEPALIVE', 'ROUTE-REFRESH'] as const;
export type MessageTypeName = (typeof MESSAGE_TYPES)[number];
export type MessageCount = Record<MessageTypeName | 'total', number>;

const NAME_OF: Record<number, MessageTypeName> = {
  [MessageType.OPEN]: 'OPEN',
  [MessageType.UPDATE]: 'UPDATE',
  [MessageType.NOTIFICATION]: 'NOTIFICATION',
  [MessageType.KEEPALIVE]: 'KEEPALIVE',
  [MessageType.ROUTE_REFRESH]: 'ROUTE-REFRESH',
};

const BY_DECODED: Record<string, MessageTypeName> = {
  open: 'OPEN',
  update: 'UPDATE',
  notification: 'NOTIFICATION',
  keepalive: 'KEEPALIVE',
  'route-refresh': 'ROUTE-REFRESH',
};

/** A NOTIFICATION as it went out or came in: code, subcode, data, RFC 9003 text, wall-clock ms. */
export interface NotificationRecord {
  code: number;
  subcode: number;
  data: Uint8Array;
  shutdownMessage?: string;
  atMs: number;
}

const zero = (): MessageCount => ({ OPEN: 0, UPDATE: 0, NOTIFICATION: 0, KEEPALIVE: 0, 'ROUTE-REFRESH': 0, total: 0 });

export class MessageCounters {
  readonly in: MessageCount = zero();
  readonly out: MessageCount = zero();
  lastNotificationSent: NotificationRecord | undefined;
  lastNotificationReceived: NotificationRecord | undefined;

  /** An encoded message written (type octet 18, RFC 4271 4.1); an unknown type counts in total only. */
  sent(bytes: Uint8Array): void {
    this.out.total++;
    const name = bytes.length > 18 ? NAME_OF[bytes[18]] : undefined;
    if (name) this.out[name]++;
  }

  /** A decoded message received. */
  received(type: string): void {
    this.in.total++;
    const name = BY_DECODED[type];
    if (name) this.in[name]++;
  }

  notificationSent(n: Omit<NotificationRecord, 'atMs'>, atMs: number): void {
    this.lastNotificationSent = { ...n, atMs };
  }

  notificationReceived(n: NotificationMessage, atMs: number): void {
    this.lastNotificationReceived = { code: n.code, subcode: n.subcode, data: n.data, ...(n.shutdownMessage !== undefined ? { shutdownMessage: n.shutdownMessage } : {}), atMs };
  }
}

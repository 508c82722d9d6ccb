/** The client side of the control API (control-server.ts): one request, one reply. */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import type { ControlOp, ControlReply, RequestOf } from './protocol.js';

/** The agent cannot be reached: no socket file, or nobody answers on it. */
export class ControlUnreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlUnreachable';
  }
}

/** Sends one request and resolves with the reply (ok or not). Rejects with ControlUnreachable. */
export function controlRequest<Op extends ControlOp>(path: string, req: RequestOf<Op>, timeoutMs = 10_000): Promise<ControlReply<Op>> {
  if (!existsSync(path)) return Promise.reject(new ControlUnreachable(`is the agent running? no socket at ${path}`));
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = '';
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      fn();
    };
    const timer = setTimeout(() => finish(() => reject(new ControlUnreachable(`no reply from the agent on ${path} within ${timeoutMs} ms`))), timeoutMs);
    sock.setEncoding('utf8');
    sock.once('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      finish(() => {
        try {
          resolve(JSON.parse(line) as ControlReply<Op>);
        } catch (e) {
          reject(new Error(`the agent sent a reply that is not JSON: ${(e as Error).message}`));
        }
      });
    });
    sock.once('error', (e: NodeJS.ErrnoException) =>
      finish(() =>
        reject(
          e.code === 'ECONNREFUSED' || e.code === 'ENOENT'
            ? new ControlUnreachable(`is the agent running? nothing answers on ${path} (${e.code})`)
            : e.code === 'EACCES'
              ? new ControlUnreachable(`no permission to use ${path} (the socket is mode 0600: run as the agent's user)`)
              : new ControlUnreachable(`cannot reach the agent on ${path}: ${e.message}`),
        ),
      ),
    );
    sock.once('close', () => finish(() => reject(new ControlUnreachable(`the agent closed ${path} without replying`))));
  });
}

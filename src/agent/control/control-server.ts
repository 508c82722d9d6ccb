/**
 * The control API's server: a unix socket (mode 0600) speaking the newline-delimited JSON of
 * protocol.ts. Each request line gets one reply line, in order. A bad request never takes the
 * agent down: every failure becomes an error reply.
 */
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { logEvent } from '../observability/log-events.js';
import { checkRequest, type ControlHandlers, type ControlReply, type ControlRequest, type ControlResult } from './protocol.js';

/** The longest request line accepted (a request is a few dozen bytes). */
const MAX_LINE = 64 * 1024;

/** Whether some process answers on the socket path (a running agent). */
export function socketAnswers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (v: boolean) => {
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export class ControlServer {
  private server: Server | undefined;
  private readonly clients = new Set<Socket>();

  constructor(
    readonly path: string,
    private readonly handlers: ControlHandlers,
    private readonly log: Logger,
  ) {}

  /** Refuses to start when another agent answers on the path; removes a stale socket file. */
  async start(): Promise<void> {
    if (existsSync(this.path)) {
      if (await socketAnswers(this.path)) throw new Error(`another agent is answering on the control socket ${this.path}`);
      unlinkSync(this.path);
    }
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o755 });
    const server = createServer((sock) => this.onClient(sock));
    this.server = server;
    // The socket is created with the umask applied; tighten it so it is never world-usable.
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(old);
    }
    chmodSync(this.path, 0o600);
    logEvent(this.log, 'control.listening', { socket: this.path });
  }

  private onClient(sock: Socket): void {
    this.clients.add(sock);
    sock.setEncoding('utf8');
    let buf = '';
    let chain = Promise.resolve();
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_LINE && !buf.includes('\n')) {
        this.refuse(sock, `request longer than ${MAX_LINE} bytes`);
        sock.end();
        buf = '';
        return;
      }
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line === '') continue;
        // One at a time per client, so replies come back in request order.
        chain = chain.then(() => this.handle(sock, line));
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => this.clients.delete(sock));
  }

  private async handle(sock: Socket, line: string): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (e) {
      this.refuse(sock, `bad JSON: ${(e as Error).message}`);
      return;
    }
    const req = checkRequest(parsed);
    if (typeof req === 'string') {
      this.refuse(sock, req);
      return;
    }
    try {
      const result = await this.dispatch(req);
      this.reply(sock, { ok: true, ...result });
    } catch (e) {
      this.refuse(sock, e instanceof Error ? e.message : String(e));
    }
  }

  /** The handler of the request's op (the map is typed per op; the union needs one widening here). */
  private dispatch(req: ControlRequest): Promise<ControlResult> | ControlResult {
    const h = this.handlers[req.op] as (r: ControlRequest) => Promise<ControlResult> | ControlResult;
    return h(req);
  }

  private refuse(sock: Socket, error: string): void {
    logEvent(this.log, 'control.bad-request', { error });
    this.reply(sock, { ok: false, error });
  }

  private reply(sock: Socket, r: ControlReply): void {
    if (sock.destroyed || !sock.writable) return;
    sock.write(`${JSON.stringify(r)}\n`);
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    for (const c of this.clients) c.destroy();
    await new Promise<void>((r) => s.close(() => r()));
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

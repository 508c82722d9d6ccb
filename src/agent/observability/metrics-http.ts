/**
 * The metrics listener: GET /metrics (Prometheus text), /healthz (the process answers: 200 "ok")
 * and /readyz (200 when ready, else 503 with what is not ready, one line each; readiness.ts).
 * Any other path or method is a 404.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { logEvent } from './log-events.js';
import type { Readiness } from './readiness.js';

export interface MetricsEndpoints {
  metrics(): Promise<{ contentType: string; body: string }>;
  ready(): Readiness;
}

const TEXT = { 'content-type': 'text/plain; charset=utf-8' };

export function metricsServer(e: MetricsEndpoints): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(404, TEXT).end('try GET /metrics, /healthz or /readyz\n');
      return;
    }
    switch (path) {
      case '/metrics':
        e.metrics().then(
          (m) => res.writeHead(200, { 'content-type': m.contentType }).end(m.body),
          (err: Error) => res.writeHead(500, TEXT).end(`${err.message}\n`),
        );
        return;
      case '/healthz':
        res.writeHead(200, TEXT).end('ok\n');
        return;
      case '/readyz': {
        const r = e.ready();
        if (r.ready) res.writeHead(200, TEXT).end('ready\n');
        else res.writeHead(503, TEXT).end(`not ready:\n${r.notReady.map((l) => `- ${l}\n`).join('')}`);
        return;
      }
      default:
        res.writeHead(404, TEXT).end('try /metrics, /healthz or /readyz\n');
    }
  });
}

/** Listens; resolves with the bound port. */
export async function listenMetrics(server: Server, host: string, port: number, log: Logger): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address();
  const bound = typeof a === 'object' && a ? a.port : port;
  logEvent(log, 'metrics.listening', { host, port: bound, paths: ['/metrics', '/healthz', '/readyz'] });
  return bound;
}

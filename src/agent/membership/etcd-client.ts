/**
 * The etcd v3 client (npm etcd3, over @grpc/grpc-js), loaded only when membership.etcd is
 * configured: grpc-js costs resident memory that an agent on a nodes file never pays
 * (DESIGN.md: the idle footprint stays small).
 *
 * Calls fail fast (a deadline) and the registry retries on its own schedule; a broken watch stream
 * is re-opened every half second, so that an etcd that comes back is seen within about a second
 * instead of after the client's default backoff of up to 30 s.
 */
import { readFileSync } from 'node:fs';
import type { Etcd3 } from 'etcd3';
import type { EtcdSettings } from '../config/membership-config.js';

export type { Etcd3 };

/** A fixed backoff (cockatiel's IBackoff shape) for the watch streams. */
function every(ms: number): { duration: number; next(): unknown } {
  const b = { duration: ms, next: () => b };
  return b;
}

/**
 * Per member: after a failed call, skip that member for `openMs` (the call goes to another one at
 * once). The client's default breaker stays open 5 s after 3 failures, which delays the first
 * successful call after a whole-cluster outage by up to 5 s, longer than a short lease TTL.
 */
function hostBreaker(openMs: number) {
  let openUntil = 0;
  return {
    async execute<T>(fn: (ctx: { signal: AbortSignal; attempt: number }) => PromiseLike<T> | T): Promise<T> {
      if (Date.now() < openUntil) throw new Error('etcd member skipped for a moment after a failure');
      try {
        return await fn({ signal: new AbortController().signal, attempt: 0 });
      } catch (e) {
        openUntil = Date.now() + openMs;
        throw e;
      }
    },
  };
}

/** A client for the configured endpoints, TLS and user; throws when a certificate file cannot be read. */
export async function connectEtcd(s: EtcdSettings, callTimeoutMs = 3000): Promise<Etcd3> {
  const { Etcd3: Client } = await import('etcd3');
  const read = (what: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new Error(`membership.etcd.tls.${what}: cannot read ${file}: ${(e as Error).message}`);
    }
  };
  const tls = s.tls;
  return new Client({
    hosts: s.endpoints,
    dialTimeout: callTimeoutMs,
    // gRPC's reconnect backoff grows to minutes while etcd is away; keep it at a second so that an
    // etcd that returns is used at once (leases of a few seconds must be renewed in time).
    grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 500, 'grpc.max_reconnect_backoff_ms': 1000 },
    ...(tls
      ? {
          credentials: {
            rootCertificate: tls.ca ? read('ca', tls.ca) : (undefined as unknown as Buffer),
            ...(tls.key ? { privateKey: read('key', tls.key) } : {}),
            ...(tls.cert ? { certChain: read('cert', tls.cert) } : {}),
          },
        }
      : {}),
    ...(s.username !== undefined && s.password !== undefined ? { auth: { username: s.username, password: s.password } } : {}),
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    // The client's default global policy stays: a call retries on another member (a 3-member
    // cluster with one member down still answers).
    faultHandling: { host: () => hostBreaker(1000) as never, watchBackoff: every(500) as never },
  });
}

// A real etcd (Debian's etcd-server 3.4, /usr/bin/etcd) for tests: one member or a 3-member
// cluster, on loopback in the test's own network namespace (no ns: the host's 127.0.0.1 with
// free ports), each member with its data directory in the run's temp dir. Members are started
// and stopped by PID through the Lab (cleanup kills them); a stopped member keeps its data
// directory, so it can be started again (the whole-cluster-down tests).
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { inNs, run, tail } from './exec.js';
import type { Lab } from './netns.js';
import { terminate, type Tracked } from './processes.js';
import { waitFor } from './wait.js';

export const ETCD = '/usr/bin/etcd';
export const ETCDCTL = '/usr/bin/etcdctl';

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  logPath: string;
  pid: number | undefined;
}

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export class EtcdCluster {
  private readonly procs = new Map<string, Tracked>();

  constructor(
    private readonly lab: Lab,
    readonly members: EtcdMember[],
    private readonly ns: string | undefined,
    private readonly token: string,
    /** Client TLS (https, client certificates required): the server's files and a client's for etcdctl. */
    readonly tls?: EtcdTls,
  ) {}

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  private args(m: EtcdMember): string[] {
    return [
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl,
      '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl,
      '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', this.members.map((x) => `${x.name}=${x.peerUrl}`).join(','),
      '--initial-cluster-token', this.token,
      '--initial-cluster-state', 'new',
      ...(this.tls ? ['--cert-file', this.tls.serverCert, '--key-file', this.tls.serverKey, '--client-cert-auth', '--trusted-ca-file', this.tls.ca] : []),
      '--logger', 'zap',
      '--log-level', 'warn',
    ];
  }

  /** Starts member `i` (again): same name, URLs and data directory. */
  startMember(i: number): void {
    const m = this.members[i];
    const fd = openSync(m.logPath, 'a');
    const [cmd, argv] = this.ns ? ['ip', ['netns', 'exec', this.ns, ETCD, ...this.args(m)]] : [ETCD, this.args(m)];
    const child = spawn(cmd, argv, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.unref();
    m.pid = child.pid;
    const t = child.pid ? this.lab.adopt(child.pid, m.name) : undefined;
    if (t) this.procs.set(m.name, t);
  }

  /** Stops member `i` by PID (SIGKILL: a crash, not a clean leave) and waits until it is gone. */
  async killMember(i: number): Promise<void> {
    const t = this.procs.get(this.members[i].name);
    if (t) await terminate([t], 0);
    this.procs.delete(this.members[i].name);
    this.members[i].pid = undefined;
  }

  async stopAll(): Promise<void> {
    for (let i = 0; i < this.members.length; i++) await this.killMember(i);
  }

  startAll(): void {
    for (let i = 0; i < this.members.length; i++) this.startMember(i);
  }

  /** etcdctl against the members (in the namespace when there is one). */
  ctl(args: readonly string[], endpoints = this.endpoints): Promise<{ stdout: string }> {
    const t = this.tls ? ['--cacert', this.tls.ca, '--cert', this.tls.clientCert, '--key', this.tls.clientKey] : [];
    const a = ['--endpoints', endpoints.join(','), '--dial-timeout', '2s', '--command-timeout', '3s', ...t, ...args];
    return this.ns ? inNs(this.ns, ETCDCTL, a) : run(ETCDCTL, a);
  }

  /** Waits until every running member answers as healthy. */
  async healthy(timeoutMs = 20_000): Promise<void> {
    const up = this.members.filter((m) => m.pid !== undefined);
    await waitFor(() => this.ctl(['endpoint', 'health'], up.map((m) => m.clientUrl)).then(() => true), {
      what: `etcd ${up.map((m) => m.name).join(', ')} healthy`,
      timeoutMs,
      intervalMs: 200,
      diagnose: () => this.logTail(),
    });
  }

  logTail(lines = 10): string {
    return this.members.map((m) => `--- ${m.name} (${m.logPath})\n${tail(m.logPath, lines)}`).join('\n');
  }
}

export interface EtcdTls {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A throwaway CA, a server certificate for `ip` and a client certificate (EC P-256, one day), in `dir`. */
export async function makeTls(dir: string, ip = '127.0.0.1'): Promise<EtcdTls> {
  const f = (n: string) => `${dir}/${n}`;
  const key = (n: string) => run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f(n)]);
  await key('ca.key');
  await run('openssl', ['req', '-x509', '-new', '-key', f('ca.key'), '-out', f('ca.pem'), '-days', '1', '-subj', '/CN=weft-test-ca']);
  for (const [who, ext] of [['server', `subjectAltName=IP:${ip}\nextendedKeyUsage=serverAuth`], ['client', 'extendedKeyUsage=clientAuth']] as const) {
    await key(`${who}.key`);
    await run('openssl', ['req', '-new', '-key', f(`${who}.key`), '-out', f(`${who}.csr`), '-subj', `/CN=weft-${who}`]);
    writeFileSync(f(`${who}.ext`), ext);
    await run('openssl', ['x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${who}.pem`), '-days', '1', '-extfile', f(`${who}.ext`)]);
  }
  return { ca: f('ca.pem'), serverCert: f('server.pem'), serverKey: f('server.key'), clientCert: f('client.pem'), clientKey: f('client.key') };
}

export interface EtcdOptions {
  /** https with client certificates required. */
  tls?: EtcdTls;
  /** 1 (default) or 3 members. */
  members?: number;
  /** Run inside this namespace, listening on `host` (an address of that namespace). */
  ns?: string;
  host?: string;
}

/** Starts etcd and waits until it is healthy. */
export async function startEtcd(lab: Lab, opts: EtcdOptions = {}): Promise<EtcdCluster> {
  const n = opts.members ?? 1;
  const host = opts.host ?? '127.0.0.1';
  const members: EtcdMember[] = [];
  // Unique per cluster: a test may start more than one etcd in its lab.
  const tag = lab.unique('etcd');
  for (let i = 0; i < n; i++) {
    // In a namespace of its own the usual ports are free; on the host's loopback, ask the kernel.
    const cp = opts.ns ? 2379 + 10 * i : await freePort();
    const pp = opts.ns ? 2380 + 10 * i : await freePort();
    const dataDir = lab.path(`${tag}-${i}.data`);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    members.push({ name: `m${i}`, clientUrl: `${opts.tls ? 'https' : 'http'}://${host}:${cp}`, peerUrl: `http://${host}:${pp}`, dataDir, logPath: lab.path(`${tag}-${i}.log`), pid: undefined });
  }
  const cluster = new EtcdCluster(lab, members, opts.ns, `weft-test-${lab.id}-${tag}`, opts.tls);
  cluster.startAll();
  await cluster.healthy();
  return cluster;
}

/** Why etcd tests cannot run here, or undefined. */
export function etcdSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  try {
    closeSync(openSync(ETCD, 'r'));
    closeSync(openSync(ETCDCTL, 'r'));
  } catch {
    return `${ETCD} / ${ETCDCTL} missing: install etcd-server and etcd-client (labs/install-deps.sh)`;
  }
  return undefined;
}

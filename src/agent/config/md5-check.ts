/**
 * A configuration that asks for TCP MD5 passwords needs the MD5 addon (io/md5): without it weft
 * refuses the configuration (start, reload, `weft config check`: exit 2, nothing started) instead
 * of connecting without the key.
 */
import { md5Problem } from '../io/md5/md5.js';
import type { AgentConfig } from './agent-config.js';
import type { SpeakerConfig } from './speaker-config.js';

/** The field paths that set a password (never the passwords themselves). */
export function agentPasswordPaths(c: AgentConfig): string[] {
  const out: string[] = [];
  if (c.mesh.password !== undefined) out.push('mesh.password');
  c.peers.forEach((p, i) => {
    if (p.password !== undefined) out.push(`peers[${i}].password`);
  });
  return out;
}

export function speakerPasswordPaths(c: SpeakerConfig): string[] {
  const out: string[] = [];
  c.peers.forEach((p, i) => {
    if (p.password !== undefined) out.push(`peers[${i}].password`);
  });
  return out;
}

/** The problem with an agent configuration's passwords on this machine, or undefined. */
export function agentMd5Problem(c: AgentConfig): string | undefined {
  return md5Problem(agentPasswordPaths(c));
}

export function speakerMd5Problem(c: SpeakerConfig): string | undefined {
  return md5Problem(speakerPasswordPaths(c));
}

/** A copy of an agent configuration fit to print: every password replaced. */
export function redactPasswords(c: AgentConfig): AgentConfig {
  return {
    ...c,
    mesh: c.mesh.password === undefined ? c.mesh : { ...c.mesh, password: '(hidden)' },
    peers: c.peers.map((p) => (p.password === undefined ? p : { ...p, password: '(hidden)' })),
    // The etcd password of membership.etcd, too.
    ...(c.membership?.etcd.password === undefined ? {} : { membership: { ...c.membership, etcd: { ...c.membership.etcd, password: '(hidden)' } } }),
  };
}

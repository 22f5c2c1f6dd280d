// HAProxy's runtime API inside the proxy container: what a rollout asks the edge. The
// container has bash (its healthcheck uses /dev/tcp), so the command travels as an
// argument to a fixed script, never inside it.
import pWaitFor from 'p-wait-for';
import { docker, type ContainerRef } from './docker.js';
import type { Cmd } from './command.js';
import { CommandError, type RunResult, type Runner } from './run.js';
import { haproxyRuntimePort } from '../render/haproxy/index.js';

export function runtimeCommand(proxy: ContainerRef, command: string): Cmd {
  if (/[\n;]/.test(command)) throw new Error(`bug: one runtime API command at a time: ${JSON.stringify(command)}`);
  return docker.exec(
    proxy,
    [
      'bash',
      '-c',
      'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf \'%s\\n\' "$2" >&3 && cat <&3',
      'wharf-runtime',
      String(haproxyRuntimePort),
      command,
    ],
    `ask the edge: ${command}`,
    15_000,
  );
}

export interface EdgeServer {
  backend: string;
  server: string;
  /** empty while the slot has no address */
  addr: string;
  /** the name the slot resolves (the service) */
  fqdn: string;
  /** 0 stopped, 1 starting, 2 running, 3 stopping */
  opState: number;
  /** bit field: 0x01 forced maint, 0x08 forced drain, 0x20 maint from resolution... */
  adminState: number;
  /** current sessions (from `show stat`), when read */
  sessions?: number;
}

/** `show servers state` (format version 1): one line per server slot. */
export function parseServersState(text: string): EdgeServer[] {
  const out: EdgeServer[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#') || /^\d+$/.test(line.trim())) continue;
    const f = line.trim().split(/\s+/);
    if (f.length < 18) continue;
    out.push({
      backend: f[1]!,
      server: f[3]!,
      addr: f[4] === '-' ? '' : f[4]!,
      opState: Number(f[5]),
      adminState: Number(f[6]),
      fqdn: f[17] === '-' ? '' : f[17]!,
    });
  }
  return out;
}

/** `show stat` CSV: current sessions per backend/server. */
export function parseStatSessions(csv: string): Map<string, number> {
  const lines = csv.split('\n').filter((l) => l.trim());
  const header = (lines[0] ?? '').replace(/^# /, '').split(',');
  const [px, sv, scur] = ['pxname', 'svname', 'scur'].map((k) => header.indexOf(k));
  const m = new Map<string, number>();
  if (px! < 0 || sv! < 0 || scur! < 0) return m;
  for (const l of lines.slice(1)) {
    const f = l.split(',');
    m.set(`${f[px!]}/${f[sv!]}`, Number(f[scur!]) || 0);
  }
  return m;
}

/** The server slots holding a service's replicas, with their sessions. */
export function serversOf(service: string, state: string, stat: string): EdgeServer[] {
  const sessions = parseStatSessions(stat);
  return parseServersState(state)
    .filter((s) => s.fqdn === service)
    .map((s) => ({ ...s, sessions: sessions.get(`${s.backend}/${s.server}`) ?? 0 }));
}

/** A certificate as the running edge holds it (`show ssl cert <file>`). */
export interface EdgeCert {
  serial: string;
  notAfter: Date;
  issuer: string;
  names: string[];
}

/** `show ssl cert <file>`: undefined when the edge holds no such certificate (not issued yet). */
export function parseEdgeCert(text: string): EdgeCert | undefined {
  const f = new Map(
    text.split('\n').flatMap((l) => {
      const i = l.indexOf(': ');
      return i > 0 ? [[l.slice(0, i).trim(), l.slice(i + 2).trim()] as const] : [];
    }),
  );
  const notAfter = new Date(f.get('notAfter') ?? '');
  if (!f.get('Serial') || Number.isNaN(notAfter.getTime())) return undefined;
  const names = (f.get('Subject Alternative Name') ?? '')
    .split(',')
    .flatMap((x) => (x.trim().startsWith('DNS:') ? [x.trim().slice(4)] : []));
  return { serial: f.get('Serial')!, notAfter, issuer: (f.get('Issuer') ?? '').replace(/^\/CN=/, ''), names };
}

export const runtime = {
  showCert: (proxy: ContainerRef, file: string) => runtimeCommand(proxy, `show ssl cert ${file}`),
  serversState: (proxy: ContainerRef) => runtimeCommand(proxy, 'show servers state'),
  stat: (proxy: ContainerRef) => runtimeCommand(proxy, 'show stat'),
  setState: (proxy: ContainerRef, backend: string, server: string, state: 'ready' | 'drain' | 'maint') =>
    runtimeCommand(proxy, `set server ${backend}/${server} state ${state}`),
};

export interface AskOptions {
  /** give up after this long (default 20 s: longer than a reload under load takes) */
  deadlineMs?: number;
  /** pause between attempts (default 250 ms) */
  intervalMs?: number;
}

/**
 * Run one runtime API command, again while it fails: an edge reloading (a new worker taking
 * over the socket, which a storm of reconnects slows down) refuses the socket for a moment
 * while the old workers keep serving. Every command wharf sends is idempotent. Only a query
 * failing for the whole deadline is an error, the last attempt's.
 */
export async function askEdge(runner: Runner, c: Cmd, o: AskOptions = {}): Promise<RunResult> {
  let last: RunResult | undefined;
  return pWaitFor(
    async () => {
      last = await runner(c, { reject: false });
      return last.exitCode === 0 && pWaitFor.resolveWith(last);
    },
    {
      interval: o.intervalMs ?? 250,
      timeout: {
        milliseconds: o.deadlineMs ?? 20_000,
        fallback: () => {
          throw last ? new CommandError(last) : new Error(`${c.describe}: no answer within ${o.deadlineMs ?? 20_000} ms`);
        },
      },
    },
  );
}

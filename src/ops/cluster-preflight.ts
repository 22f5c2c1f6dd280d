// `wharf cluster preflight`: what each node sees of the others, as checks shaped like
// `wharf doctor`'s (ok/warn/fail, detail, hint, machine-readable cause). Every check runs;
// the CLI maps the result to an exit code.
import type { ClusterPlan } from '../plan/cluster.js';
import { CLUSTER_PORTS, PREFLIGHT_TASKS } from '../render/cluster/preflight.js';
import type { JsonRun, TaskResult } from '../engine/ansible.js';
import { checkResult, type CheckOf, type CheckStatus } from './checks.js';

export type PreflightCause =
  | 'ssh-unreachable'
  | 'wg-down'
  | 'no-handshake'
  | 'stale-handshake'
  | 'mtu-too-small'
  | 'wg-unreachable'
  | 'port-blocked'
  | 'udp-blocked'
  | 'udp-unobservable'
  | 'clock-skew'
  | 'docker-missing'
  | 'docker-version-mismatch';

export type PreflightCheck = CheckOf<PreflightCause>;

/** A handshake older than this means the peer stopped answering (WireGuard re-keys every 2 min). */
const HANDSHAKE_MAX_AGE_S = 180;
/** Skew that Raft heartbeats and Swarm's TLS certificates shrug off; the probes themselves run up to ~1s apart. */
const CLOCK_WARN_S = 2;
const CLOCK_FAIL_S = 30;

const check = (c: Omit<PreflightCheck, 'ok'>): PreflightCheck => checkResult(c);
const itemsOf = (r: TaskResult | undefined) => r?.results ?? [];
const text = (r: TaskResult) => `${r.stdout ?? ''}\n${r.stderr ?? ''}\n${r.msg ?? ''}`;
const firstLine = (s: string, max = 200) => {
  const l = s.trim().split('\n')[0] ?? '';
  return l.length > max ? `${l.slice(0, max)}…` : l;
};

export function preflightChecks(run: JsonRun, plan: ClusterPlan, publicKeys: Record<string, string>): PreflightCheck[] {
  const out: PreflightCheck[] = [];
  const byKey = new Map(Object.entries(publicKeys).map(([n, k]) => [k, n]));
  const task = (name: string) => run.tasks.get(name) ?? new Map<string, TaskResult>();
  const reachable = plan.nodes.filter((n) => {
    const s = run.stats[n.name];
    const ok = !!s && s.unreachable === 0;
    out.push(
      check(
        ok
          ? { id: `ssh:${n.name}`, title: `reach ${n.name}`, status: 'ok', detail: `${n.sshUser}@${n.publicAddress}:${n.sshPort}` }
          : {
              id: `ssh:${n.name}`,
              title: `reach ${n.name}`,
              status: 'fail',
              cause: 'ssh-unreachable',
              detail:
                `${n.sshUser}@${n.publicAddress}:${n.sshPort} did not answer` +
                `${task(PREFLIGHT_TASKS.handshakes).get(n.name)?.msg ? `: ${String(task(PREFLIGHT_TASKS.handshakes).get(n.name)!.msg).split('\n')[0]}` : ''}`,
              hint: `check that ssh -p ${n.sshPort} ${n.sshUser}@${n.publicAddress} logs in with a key (password login is off), and that the SSH port is open`,
            },
      ),
    );
    return ok;
  });

  const udpPorts = CLUSTER_PORTS[plan.orchestrator];
  const now = new Map<string, number>();
  const versions = new Map<string, string>();
  for (const n of reachable) {
    const hs = task(PREFLIGHT_TASKS.handshakes).get(n.name);
    const peers = plan.nodes.filter((p) => p.name !== n.name);
    const clock = Number(task(PREFLIGHT_TASKS.clock).get(n.name)?.stdout);
    if (Number.isFinite(clock)) now.set(n.name, clock);
    if (!hs || hs.rc !== 0) {
      out.push(
        check({
          id: `wg:${n.name}`,
          title: `wg0 on ${n.name}`,
          status: 'fail',
          cause: 'wg-down',
          detail: `wg show wg0 failed: ${
            text(hs ?? {})
              .trim()
              .split('\n')[0] || 'no result'
          }`,
          hint: 'run `wharf cluster apply` (it brings wg0 up), then `systemctl status wg-quick@wg0` on the node',
        }),
      );
    } else {
      const seen = new Map(
        (hs.stdout ?? '')
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split('\t'))
          .map(([k, t]) => [byKey.get(k!) ?? k!, Number(t)]),
      );
      for (const p of peers) {
        const t = seen.get(p.name);
        const age = t ? (now.get(n.name) ?? Date.now() / 1000) - t : undefined;
        const id = `wg:${n.name}->${p.name}`;
        if (t === undefined || t === 0)
          out.push(
            check({
              id,
              title: `WireGuard ${n.name} -> ${p.name}`,
              status: 'fail',
              cause: 'no-handshake',
              detail: t === undefined ? `${p.name} is not a peer of wg0 on ${n.name}` : `no handshake with ${p.name} yet`,
              hint: `let UDP ${plan.wireguard.port} in on ${p.publicAddress} (and out of ${n.name}); check both keys with \`wg show wg0\``,
            }),
          );
        else if (age! > HANDSHAKE_MAX_AGE_S)
          out.push(
            check({
              id,
              title: `WireGuard ${n.name} -> ${p.name}`,
              status: 'fail',
              cause: 'stale-handshake',
              detail: `last handshake ${Math.round(age!)}s ago`,
              hint: `${p.name} stopped answering on UDP ${plan.wireguard.port}: is wg0 up there, did its address change?`,
            }),
          );
        else
          out.push(
            check({
              id,
              title: `WireGuard ${n.name} -> ${p.name}`,
              status: 'ok',
              detail: `handshake ${Math.max(0, Math.round(age!))}s ago`,
            }),
          );
      }
    }
    for (const r of itemsOf(task(PREFLIGHT_TASKS.ping).get(n.name))) {
      const p = String(r.item);
      const id = `mtu:${n.name}->${p}`;
      const title = `${plan.wireguard.mtu}-byte packets ${n.name} -> ${p} over wg0`;
      if (r.rc === 0) {
        out.push(check({ id, title, status: 'ok', detail: `unfragmented ping with ${plan.wireguard.mtu - 28} bytes of payload answered` }));
        continue;
      }
      const tooBig = /message too long|frag needed|mtu\s*=?\s*\d+/i.test(text(r));
      out.push(
        check(
          tooBig
            ? {
                id,
                title,
                status: 'fail',
                cause: 'mtu-too-small',
                detail: `a ${plan.wireguard.mtu}-byte packet does not fit: ${
                  text(r)
                    .trim()
                    .split('\n')
                    .find((l) => /mtu|too long|frag/i.test(l)) ?? ''
                }`.trim(),
                hint:
                  `wg0's MTU on ${n.name} is not ${plan.wireguard.mtu} or the path is smaller: ` +
                  `set cluster.wireguard.underlayMtu to the real path MTU, render and apply`,
              }
            : {
                id,
                title,
                status: 'fail',
                cause: 'wg-unreachable',
                detail: `no answer from ${p} over wg0`,
                hint: 'fix the WireGuard handshake first; then check UFW on both nodes',
              },
        ),
      );
    }
    for (const r of itemsOf(task(PREFLIGHT_TASKS.ports).get(n.name))) {
      const [p, port] = r.item as [string, string];
      const id = `port:${n.name}->${p}:${port}`;
      // failed_when: false keeps every pair probed; a timeout is how wait_for reports no connection
      const blocked = r.failed || /timeout|timed out/i.test(String(r.msg ?? ''));
      out.push(
        check(
          blocked
            ? {
                id,
                title: `TCP ${port} ${n.name} -> ${p}`,
                status: 'fail',
                cause: 'port-blocked',
                detail: `no connection to ${p}'s wg0 address on ${port}/tcp within 3s`,
                hint:
                  `on ${p}: ufw allow in on wg0 from ${plan.wireguard.subnet} to any port ${port} proto tcp (wharf cluster apply does it); ` +
                  `${plan.orchestrator === 'k3s' ? 'is k3s running there?' : 'is Docker running and in the swarm?'}`,
              }
            : { id, title: `TCP ${port} ${n.name} -> ${p}`, status: 'ok', detail: 'connected' },
        ),
      );
    }
    // the receiver (n) reports what its connection tracking saw of each peer's datagrams
    const udpSeen = itemsOf(task(PREFLIGHT_TASKS.udpSeen).get(n.name));
    if (!udpSeen.length && peers.length)
      out.push(
        check({
          id: `udp:${n.name}`,
          title: `UDP into ${n.name}`,
          status: 'warn',
          cause: 'udp-unobservable',
          detail: `the UDP probe did not run on ${n.name}: ${firstLine(text(task(PREFLIGHT_TASKS.udpSeen).get(n.name) ?? {})) || 'no result'}`,
          hint: 'check that python3 runs on the node (the probes are python3 scripts)',
        }),
      );
    for (const r of udpSeen) {
      const p = String(r.item);
      let seen: Record<string, unknown>;
      try {
        seen = JSON.parse(r.stdout ?? '') as Record<string, unknown>;
      } catch {
        seen = { error: firstLine(text(r)) || 'no result' };
      }
      if (typeof seen.error === 'string') {
        out.push(
          check({
            id: `udp:${p}->${n.name}`,
            title: `UDP ${udpPorts.udp.join(', ')} ${p} -> ${n.name}`,
            status: 'warn',
            cause: 'udp-unobservable',
            detail: `cannot tell whether ${p}'s datagrams get in on ${n.name}: ${seen.error}`,
            hint: 'install the conntrack package on the node, or check UFW on both nodes by hand (`ufw status verbose`)',
          }),
        );
        continue;
      }
      for (const port of udpPorts.udp) {
        const id = `udp:${p}->${n.name}:${port}`;
        const title = `UDP ${port} ${p} -> ${n.name}`;
        const why =
          port === udpPorts.vxlan
            ? "VXLAN, the overlay's data path: without it containers on these nodes cannot reach each other while the cluster looks healthy"
            : 'gossip: without it nodes are marked down and overlay peers are not learnt';
        out.push(
          check(
            seen[port] === true
              ? { id, title, status: 'ok', detail: `a new flow got through ${n.name}'s firewall (seen in its connection tracking)` }
              : {
                  id,
                  title,
                  status: 'fail',
                  cause: 'udp-blocked',
                  detail: `${p}'s datagrams to ${n.name}'s wg0 address on ${port}/udp never got past its firewall (${why})`,
                  hint: `on ${n.name}: ufw allow in on wg0 from ${plan.wireguard.subnet} to any port ${port} proto udp (wharf cluster apply does it)`,
                },
          ),
        );
      }
    }
    const d = task(PREFLIGHT_TASKS.docker).get(n.name) as (TaskResult & { host_info?: { ServerVersion?: string } }) | undefined;
    const v = d?.host_info?.ServerVersion;
    if (v) versions.set(n.name, v);
    else if (plan.orchestrator === 'swarm')
      out.push(
        check({
          id: `docker:${n.name}`,
          title: `Docker Engine on ${n.name}`,
          status: 'fail',
          cause: 'docker-missing',
          detail: firstLine(text(d ?? {})) || 'no Docker Engine answered',
          hint: 'run `wharf cluster apply` (it installs docker.io), then `systemctl status docker`',
        }),
      );
  }

  if (now.size > 1) {
    const ts = [...now.values()];
    const skew = Math.max(...ts) - Math.min(...ts);
    const status: CheckStatus = skew > CLOCK_FAIL_S ? 'fail' : skew > CLOCK_WARN_S ? 'warn' : 'ok';
    out.push(
      check({
        id: 'clock',
        title: 'clocks agree',
        status,
        detail: `largest difference ${skew.toFixed(2)}s between ${[...now.keys()].join(', ')}`,
        ...(status === 'ok' ? {} : { cause: 'clock-skew' as const, hint: 'run an NTP client on every node (systemd-timesyncd or chrony)' }),
      }),
    );
  }
  if (versions.size) {
    const majors = new Set([...versions.values()].map((v) => v.split('.')[0]));
    out.push(
      check(
        majors.size > 1
          ? {
              id: 'docker-versions',
              title: 'Docker Engine versions',
              status: 'warn',
              cause: 'docker-version-mismatch',
              detail: [...versions].map(([n, v]) => `${n} ${v}`).join(', '),
              hint: 'upgrade the nodes to one major version: swarm features follow the oldest manager',
            }
          : {
              id: 'docker-versions',
              title: 'Docker Engine versions',
              status: 'ok',
              detail: [...versions].map(([n, v]) => `${n} ${v}`).join(', '),
            },
      ),
    );
  }
  return out;
}

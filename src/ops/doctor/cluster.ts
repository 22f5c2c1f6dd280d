// wharf doctor on a multi-node target: the nodes, Raft quorum, each node's engine, the
// overlay's gossip peers (7946) and the cluster ports. Built on listNodes (a manager's
// view) and each node's own engine; nothing here knows which orchestrator it is.
import pLimit from 'p-limit';
import type { OpsContext } from '../../engine/context.js';
import type { Engine } from '../../engine/engine.js';
import type { ContainerState } from '../../engine/live.js';
import { faultTolerance, type NodeState } from '../../engine/nodes.js';
import type { Runner } from '../../engine/run.js';
import { check, type Check, type CheckStatus } from './check.js';

export function checkNodes(nodes: NodeState[]): Check[] {
  const down = nodes.filter((n) => n.state !== 'ready');
  const idle = nodes.filter((n) => n.state === 'ready' && n.availability !== 'active');
  const managers = nodes.filter((n) => n.role === 'manager');
  const up = managers.filter((n) => n.state === 'ready' && n.reachability !== 'unreachable');
  const majority = Math.floor(managers.length / 2) + 1;
  const leader = managers.find((n) => n.leader);
  const left = up.length - majority;
  const quorumStatus: CheckStatus = !leader || up.length < majority ? 'fail' : left <= 0 ? 'warn' : 'ok';
  return [
    check({
      id: 'cluster:nodes',
      title: `${nodes.length} nodes ready and active`,
      status: down.length ? 'fail' : idle.length ? 'warn' : 'ok',
      detail: nodes
        .map(
          (n) => `${n.hostname} ${n.role} ${n.state}/${n.availability}${n.leader ? ' leader' : n.reachability ? ` ${n.reachability}` : ''}`,
        )
        .join('; '),
      hint: down.length
        ? `bring ${down.map((n) => n.hostname).join(', ')} back (its dockerd, its network), or remove it: docker node rm`
        : idle.length
          ? `docker node update --availability active ${idle.map((n) => n.hostname).join(' ')}`
          : undefined,
    }),
    check({
      id: 'cluster:quorum',
      title: 'manager quorum',
      status: quorumStatus,
      detail:
        `${up.length}/${managers.length} managers up (a majority is ${majority}), leader ${leader?.hostname ?? 'NONE'}; ` +
        `${Math.max(0, left)} more may be lost (fault tolerance of ${managers.length}: ${faultTolerance(managers.length)})`,
      hint:
        quorumStatus === 'ok'
          ? undefined
          : !leader || up.length < majority
            ? 'quorum is lost: bring managers back, or as a last resort `docker swarm init --force-new-cluster` on a surviving manager'
            : managers.length < 3
              ? 'run 3 managers: `docker swarm join-token manager` on a manager, then join two more nodes as managers'
              : 'a manager is down: losing one more stops the control plane',
    }),
  ];
}

/** Each ready node's own engine answers on the address wharf derived or was given. */
export async function checkNodeEngines(engine: Pick<Engine, 'ping'>, nodes: NodeState[], runner: Runner): Promise<Check[]> {
  const limit = pLimit(8);
  return Promise.all(
    nodes
      .filter((x) => x.state === 'ready')
      .map((n) =>
        limit(async () => {
          const id = `cluster:engine:${n.hostname}`;
          const title = `${n.hostname}'s engine reachable`;
          if (!n.dockerHost) {
            return check({
              id,
              title,
              status: 'warn',
              detail: 'no address to reach it: its containers are not inspected',
              hint: `declare cluster.nodes[].dockerHost for ${n.hostname} (e.g. ssh://root@${n.addr})`,
            });
          }
          const r = await runner(engine.ping(n), { reject: false }).catch((e: Error) => ({ exitCode: 1, stdout: '', stderr: e.message }));
          return r.exitCode === 0
            ? check({ id, title, status: 'ok', detail: `${n.dockerHost} (engine ${n.engineVersion})` })
            : check({
                id,
                title,
                status: 'fail',
                cause: 'engine-unreachable',
                detail: `${n.dockerHost}: ${(r.stderr || 'no answer').trim().split('\n').pop()}`,
                hint: `check that ${n.hostname}'s dockerd listens there, or set cluster.nodes[].dockerHost`,
              });
        }),
      ),
  );
}

/**
 * The cluster ports, from what the engines report: every manager reachable over Raft means
 * 2377/tcp works between them; every node running a task on an overlay listed among that
 * network's peers means the gossip on 7946/tcp+udp works; the data path (4789/udp VXLAN)
 * is what the link checks prove when a service reaches a peer on another node.
 */
export async function checkClusterPorts(
  ctx: OpsContext,
  nodes: NodeState[],
  containers: ContainerState[],
  runner: Runner,
): Promise<Check[]> {
  const out: Check[] = [];
  const managers = nodes.filter((n) => n.role === 'manager' && n.state === 'ready');
  const unreachable = managers.filter((n) => n.reachability === 'unreachable');
  out.push(
    check({
      id: 'cluster:port:2377',
      title: 'managers reach each other (2377/tcp)',
      status: unreachable.length ? 'fail' : 'ok',
      detail: unreachable.length
        ? `unreachable: ${unreachable.map((n) => `${n.hostname} (${n.addr})`).join(', ')}`
        : `${managers.length} managers reachable over Raft`,
      hint: unreachable.length ? 'open 2377/tcp between managers (ufw allow from <peer> to any port 2377 proto tcp)' : undefined,
    }),
  );
  for (const net of ctx.plan.networks) {
    const name = ctx.engine.networkName(net.name);
    const using = [
      ...new Set(
        containers
          .filter((c) => c.state === 'running' && c.networks.some((x) => x.name === name))
          .map((c) => c.node)
          .filter((x): x is string => !!x),
      ),
    ].sort();
    if (using.length < 2) continue;
    const at = nodes.find((n) => n.hostname === using[0])!;
    const info = await ctx.engine.networkPeers(runner, name, at);
    if (!info) {
      out.push(
        check({
          id: `cluster:peers:${net.name}`,
          title: `overlay ${name} gossip (7946)`,
          status: 'warn',
          detail: `cannot inspect ${name} on ${at.hostname}`,
        }),
      );
      continue;
    }
    // Peers are named by the network database's own ids: match them to nodes by address.
    const peers = new Set(info.peers);
    const missing = using.filter((h) => !peers.has(nodes.find((n) => n.hostname === h)?.addr ?? ''));
    const mtu = info.mtu;
    out.push(
      check({
        id: `cluster:peers:${net.name}`,
        title: `overlay ${name}: every node with a task is a peer (7946/tcp+udp)`,
        status: missing.length ? 'fail' : 'ok',
        detail: missing.length
          ? `${missing.join(', ')} run tasks on ${name} but are not among its peers (${[...peers].sort().join(', ') || 'none'})`
          : `${using.length} nodes peered${mtu ? `, MTU ${mtu}` : ' (MTU: the default 1500, 1450 inside VXLAN)'}`,
        hint: missing.length
          ? 'open 7946/tcp+udp and 4789/udp between the nodes; with encrypted overlays also IP protocol 50 (ESP)'
          : undefined,
      }),
    );
  }
  return out;
}

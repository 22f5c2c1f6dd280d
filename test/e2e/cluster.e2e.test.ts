// `wharf cluster` for real, on 3 test hosts this test creates: containers from the debootstrap
// base (scripts/docker/cluster-node), reached with Ansible's community.docker.docker connection.
// The wireguard, firewall, docker and swarm roles are applied (userspace wireguard-go; UFW in
// each container's own network namespace; Debian's dockerd inside each node): every pair must
// complete a handshake, a 3-manager swarm must form with wg0 addresses and the spec's labels,
// the cluster ports must be open on wg0 and closed on the public address, a second apply must
// change nothing, and preflight must pass everything, then name the cause once UFW blocks 7946
// between two nodes and once wg0's MTU is lowered on a node. The hardening role too: the hosts
// have no systemd, so Debian's init scripts run sshd and fail2ban, and fail2ban reads the
// auth.log rsyslog writes (the jail's backend follows the service manager); repeated failed
// SSH logins from one node get that node banned, and only that one. Then the Swarm target
// deploys the reference API behind HAProxy with PostgreSQL onto that swarm (images loaded into
// each node, engines reached through a socket each node shares with the host): replicas on
// every node answer through one node's edge, their VXLAN leaves by wg0 and nowhere else, doctor
// passes, a rolling update under load loses nothing, a backup and an in-place restore run on the
// data node, down --volumes leaves nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { clusterApply, clusterPreflight, clusterRender, type ApplyEvent, type ClusterRendered } from '../../src/ops/cluster.js';
import { run, type Runner } from '../../src/engine/run.js';
import { wgKeyFile } from '../../src/secrets/wireguard.js';
import { templateText } from '../support/templates.js';
import { requireTool, toolPath } from '../support/tools.js';
import { edgeRequest } from '../../src/engine/edge.js';
import { targetContext } from '../../src/engine/context.js';
import { listContainers } from '../../src/engine/live.js';
import type { SwarmEngine } from '../../src/engine/swarm.js';
import { doctor } from '../../src/ops/doctor.js';
import { down } from '../../src/ops/down.js';
import { prepare } from '../../src/ops/prepare.js';
import { up } from '../../src/ops/up.js';
import { rollout } from '../../src/ops/rollout.js';
import { backupNow, restoreBackup, stackBackupExecutor } from '../../src/ops/backup.js';
import { quietSchedule } from '../support/schedule.js';
import { dockerSkipReason, ensureTestImages } from './support/images.js';
import { edgeLoad, ensureApiImage } from './support/swarm.js';
import { assertHandshakes, hostImage, HOST_RUN_FLAGS, testHosts, waitBanned } from './support/cluster-hosts.js';
// @ts-expect-error plain ESM script without types, shared with scripts/quickstart.sh
import { localSpec } from '../../scripts/docker/local-images.mjs';

const skip = dockerSkipReason() ?? requireTool(!!toolPath('ansible-playbook'), 'ansible-playbook');
const log = (m: string) => process.stderr.write(`[cluster-e2e] ${m}\n`);
const hosts = testHosts('boot', ['n1', 'n2', 'n3']);
const { names, net, container, exec } = hosts;

let dir: string;
let rendered: ClusterRendered;
let hostsFile: string;
const output: string[] = [];
/** the real executor, keeping every line ansible printed so the test can grep it for keys */
const recording: Runner = async (c, o) => {
  const r = await run(c, o);
  output.push(r.stdout, r.stderr);
  return r;
};
const numbers: Record<string, number> = {};

/**
 * Test-only, read by Debian's /etc/init.d/docker when the docker role starts dockerd (the role
 * writes no daemon config). A second socket in a directory shared with the host is how the
 * Swarm test reaches each node's engine: UFW denies every other incoming port on the nodes.
 * The nodes reach no registry: tasks start from the images the test loads, without a pull
 * that can only fail first.
 */
const dockerDefaults = `# written by test/e2e/cluster.e2e.test.ts
DOCKER_OPTS="-H unix:///var/run/docker.sock -H unix:///run/wharf-engine/docker.sock"
export DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1
`;
let enginesDir: string;
const engineDir = (n: string) => join(enginesDir, n);
/** the host's way to each node's dockerd (the socket above) */
const engineHost = (n: string) => `unix://${join(engineDir(n), 'docker.sock')}`;

before(
  async () => {
    if (skip) return;
    const image = await hostImage('wharf-test/cluster-node', 'Dockerfile', ['entrypoint.sh'], log);
    enginesDir = mkdtempSync(join(tmpdir(), 'wharf-cluster-engines-'));
    for (const n of names) mkdirSync(engineDir(n));
    await execa('docker', ['network', 'create', net]);
    for (const n of names) {
      await execa('docker', [
        'run',
        '-d',
        '--name',
        container(n),
        '--hostname',
        n,
        '--network',
        net,
        ...HOST_RUN_FLAGS,
        '--init',
        '-v',
        `${engineDir(n)}:/run/wharf-engine`,
        image,
      ]);
      await execa('docker', ['exec', '-i', container(n), 'sh', '-c', 'cat > /etc/default/docker'], { input: dockerDefaults });
    }
    const ips = await Promise.all(
      names.map(async (n) =>
        (await execa('docker', ['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, container(n)])).stdout.trim(),
      ),
    );
    dir = mkdtempSync(join(tmpdir(), 'wharf-cluster-e2e-'));
    const spec = parse(templateText('api'));
    spec.cluster = { nodes: names.map((name, i) => ({ name, address: ips[i], labels: name === 'n3' ? { 'wharf.db': 'true' } : {} })) };
    writeFileSync(join(dir, 'wharf.yaml'), stringify(spec));
    // no systemd on these hosts: wg-quick directly
    hostsFile = hosts.writeInventory(join(dir, 'test-hosts.yml'), { wg_systemd: false });
    rendered = await clusterRender(join(dir, 'wharf.yaml'));
    log(`hosts ${names.map((n, i) => `${container(n)}=${ips[i]}`).join(', ')}`);
  },
  { timeout: 10 * 60_000 },
);

after(
  async () => {
    if (skip) return;
    log(`numbers: ${JSON.stringify(numbers)}`);
    await hosts.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (enginesDir) rmSync(enginesDir, { recursive: true, force: true });
  },
  { timeout: 120_000 },
);

const runOpts = () => ({ runner: recording, inventories: [hostsFile], tags: ['hardening', 'wireguard', 'firewall', 'docker', 'swarm'] });

test(
  'apply: a WireGuard mesh with a handshake between every pair, a 3-manager swarm over wg0, the cluster ports open on wg0 only; a second apply changes nothing',
  { skip, timeout: 10 * 60_000 },
  async () => {
    const events: ApplyEvent[] = [];
    const first = await clusterApply(rendered, { ...runOpts(), onEvent: (e) => events.push(e) });
    numbers.firstApplySeconds = +(first.durationMs / 1000).toFixed(1);
    assert.ok(first.ok, `first apply failed:\n${first.tail.join('\n')}`);
    assert.deepEqual(
      first.hosts.map((h) => h.host),
      names,
    );
    assert.ok(first.hosts.every((h) => h.changed > 0 && h.failed === 0));
    assert.ok(
      events.some((e) => e.kind === 'task' && /Write wg0\.conf/.test(e.name)),
      'progress names the tasks',
    );

    for (const n of names) {
      const conf = await exec(n, ['stat', '-c', '%a', '/etc/wireguard/wg0.conf']);
      assert.equal(conf.stdout.trim(), '600');
      const mtu = await exec(n, ['cat', '/sys/class/net/wg0/mtu']);
      assert.equal(mtu.stdout.trim(), String(rendered.plan.wireguard.mtu));
    }
    await assertHandshakes(hosts, rendered);

    for (const n of names) {
      const ufw = (await exec(n, ['ufw', 'status', 'verbose'])).stdout;
      assert.match(ufw, /Status: active/);
      assert.match(ufw, /Default: deny \(incoming\)/);
      for (const rule of ['2377/tcp on wg0', '7946/tcp on wg0', '7946/udp on wg0', '4789/udp on wg0'])
        assert.match(ufw, new RegExp(`${rule}\\s+ALLOW IN\\s+10\\.213\\.0\\.0/24`));
      assert.match(ufw, /51820\/udp\s+ALLOW IN\s+Anywhere/);
    }
    // the swarm: 3 reachable managers, each advertising its wg0 address, n3 labelled as the spec says
    const nodes = (await exec('n1', ['docker', 'node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'])).stdout
      .trim()
      .split('\n')
      .sort();
    assert.deepEqual(
      nodes.map((l) => l.replace(/ (Leader|Reachable)$/, ' manager')),
      names.map((n) => `${n} Ready manager`),
    );
    for (const n of rendered.plan.nodes) {
      const addr = (
        await exec('n1', [
          'docker',
          'node',
          'inspect',
          n.name,
          '--format',
          '{{.Status.Addr}} {{.ManagerStatus.Addr}} {{json .Spec.Labels}}',
        ])
      ).stdout.trim();
      assert.equal(addr, `${n.wgAddress} ${n.wgAddress}:2377 ${JSON.stringify(n.labels)}`);
    }
    // dockerd's gossip port answers n1 over wg0; a listener on n3's public address is dropped by UFW
    const n3 = rendered.plan.nodes[2]!;
    assert.equal(await connects('n1', n3.wgAddress, 7946), 'open');
    await listen('n3', 7946, n3.publicAddress);
    assert.match(await connects('n1', n3.publicAddress, 7946), /timed out/);
    await stopListening('n3', 7946);

    const second = await clusterApply(rendered, runOpts());
    numbers.secondApplySeconds = +(second.durationMs / 1000).toFixed(1);
    assert.ok(second.ok, second.tail.join('\n'));
    assert.deepEqual(
      second.hosts.map((h) => [h.host, h.changed]),
      names.map((n) => [n, 0]),
    );
  },
);

test(
  'hardening: SSH keys only, fail2ban bans the node that keeps failing SSH logins and no other, unattended upgrades on',
  { skip, timeout: 5 * 60_000 },
  async () => {
    const [n1, n2, n3] = rendered.plan.nodes;
    for (const n of names) {
      const sshd = (await exec(n, ['sshd', '-T'])).stdout;
      for (const line of ['passwordauthentication no', 'kbdinteractiveauthentication no', 'permitrootlogin without-password'])
        assert.match(sshd, new RegExp(`^${line}$`, 'm'), `${n}: ${line}`);
      assert.equal((await exec(n, ['apt-config', 'dump', '--format', '%v%n', 'APT::Periodic::Unattended-Upgrade'])).stdout.trim(), '1');
      const jail = (await exec(n, ['fail2ban-client', 'status', 'sshd'])).stdout;
      assert.match(jail, /Currently banned:\s+0/, `${n}: ${jail}`);
      assert.match(jail, /File list:\s+\/var\/log\/auth\.log/, `${n} reads auth.log (no journal here)`);
    }
    // n2 tries five unknown users on n1's public SSH port: refused each time, then banned
    const attempt = (from: string, to: string) =>
      exec(
        from,
        [
          'ssh',
          '-o',
          'BatchMode=yes',
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          'UserKnownHostsFile=/dev/null',
          '-o',
          'ConnectTimeout=3',
          '-p',
          '22',
          `nosuchuser@${to}`,
          'true',
        ],
        false,
      );
    for (let i = 0; i < 5; i++) {
      const r = await attempt('n2', n1!.publicAddress);
      assert.notEqual(r.exitCode, 0);
      assert.match(r.stderr, /Permission denied \(publickey\)/, 'password login is off: only keys are offered');
    }
    const { status: banned, seconds } = await waitBanned(hosts, 'n1', n2!.publicAddress);
    numbers.banSeconds = seconds;
    assert.match(banned, new RegExp(`Banned IP list:.*\\b${n2!.publicAddress.replaceAll('.', '\\.')}\\b`), banned);
    assert.doesNotMatch(banned, new RegExp(`\\b${n3!.publicAddress.replaceAll('.', '\\.')}\\b`));
    try {
      assert.notEqual(await connects('n2', n1!.publicAddress, 22), 'open', 'the banned node can no longer reach sshd');
      assert.equal(await connects('n3', n1!.publicAddress, 22), 'open', 'the others still can');
    } finally {
      await exec('n1', ['fail2ban-client', 'set', 'sshd', 'unbanip', n2!.publicAddress], false);
    }
    assert.equal(await connects('n2', n1!.publicAddress, 22), 'open');
  },
);

/** A TCP listener on one of the node's addresses. */
async function listen(n: string, port: number, addr: string) {
  const script =
    'import os,socket,sys\nopen("/tmp/listen-%s.pid" % sys.argv[2], "w").write(str(os.getpid()))\ns = socket.create_server((sys.argv[1], int(sys.argv[2])))\nwhile True: s.accept()[0].close()';
  await execa('docker', ['exec', '-d', container(n), 'python3', '-c', script, addr, String(port)]);
}
const stopListening = (n: string, port: number) => exec(n, ['sh', '-c', 'kill "$(cat "/tmp/listen-$1.pid")"', 'sh', String(port)]);
/** "open", or why a TCP connection from node `from` to addr:port failed within 3s */
async function connects(from: string, addr: string, port: number): Promise<string> {
  const script =
    'import socket,sys\ntry:\n  socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3); print("open")\nexcept Exception as e: print(e)';
  return (await exec(from, ['python3', '-c', script, addr, String(port)])).stdout.trim();
}

const byId = (checks: Array<{ id: string }>) =>
  new Map(checks.map((c) => [c.id, c as { id: string; status: string; cause?: string; detail: string; hint?: string }]));

test(
  'preflight passes on the mesh, then names the TCP and the UDP port UFW blocks between two nodes, and the lowered MTU',
  { skip, timeout: 10 * 60_000 },
  async () => {
    const good = await clusterPreflight(rendered, { runner: recording, inventories: [hostsFile] });
    numbers.preflightSeconds = +(good.durationMs / 1000).toFixed(1);
    assert.deepEqual(
      good.checks.filter((c) => c.status !== 'ok'),
      [],
    );
    assert.ok(good.ok);
    const g = byId(good.checks);
    for (const a of names) {
      assert.equal(g.get(`ssh:${a}`)?.status, 'ok');
      for (const b of names.filter((x) => x !== a)) {
        for (const id of [
          `wg:${a}->${b}`,
          `mtu:${a}->${b}`,
          `port:${a}->${b}:7946`,
          `port:${a}->${b}:2377`,
          `udp:${a}->${b}:7946`,
          `udp:${a}->${b}:4789`,
        ])
          assert.equal(g.get(id)?.status, 'ok', `${id}: ${g.get(id)?.detail}`);
      }
    }
    assert.equal(g.get('clock')?.status, 'ok');
    assert.equal(g.get('docker-versions')?.status, 'ok');

    // UFW on n3 blocks gossip from n1 only, and on n1 VXLAN from n2 only, ahead of the allow rules
    await exec('n3', [
      'ufw',
      'insert',
      '1',
      'deny',
      'in',
      'on',
      'wg0',
      'from',
      rendered.plan.nodes[0]!.wgAddress,
      'to',
      'any',
      'port',
      '7946',
      'proto',
      'tcp',
    ]);
    await exec('n1', [
      'ufw',
      'insert',
      '1',
      'deny',
      'in',
      'on',
      'wg0',
      'from',
      rendered.plan.nodes[1]!.wgAddress,
      'to',
      'any',
      'port',
      '4789',
      'proto',
      'udp',
    ]);
    await exec('n2', ['ip', 'link', 'set', 'wg0', 'mtu', '1300']);
    try {
      const bad = byId((await clusterPreflight(rendered, { runner: recording, inventories: [hostsFile] })).checks);
      assert.equal(bad.get('port:n1->n3:7946')?.cause, 'port-blocked');
      for (const id of ['port:n2->n3:7946', 'port:n1->n3:2377', 'port:n1->n2:7946']) assert.equal(bad.get(id)?.status, 'ok', id);
      // a dropped datagram and one taken by a silent listener look alike to the sender: n1's conntrack tells
      assert.equal(bad.get('udp:n2->n1:4789')?.cause, 'udp-blocked', JSON.stringify(bad.get('udp:n2->n1:4789')));
      assert.match(bad.get('udp:n2->n1:4789')!.hint!, /ufw allow in on wg0 .* port 4789 proto udp/);
      for (const id of ['udp:n3->n1:4789', 'udp:n2->n1:7946', 'udp:n1->n2:4789', 'udp:n1->n3:7946'])
        assert.equal(bad.get(id)?.status, 'ok', `${id}: ${bad.get(id)?.detail}`);
      assert.equal([...bad.values()].filter((c) => c.cause === 'udp-blocked').length, 1);
      for (const b of ['n1', 'n3']) {
        const c = bad.get(`mtu:n2->${b}`);
        assert.equal(c?.cause, 'mtu-too-small', JSON.stringify(c));
        assert.match(c!.detail, /1300/);
      }
      assert.equal(bad.get('mtu:n1->n3')?.status, 'ok');
      assert.equal(bad.get('wg:n2->n1')?.status, 'ok', 'the handshake itself still works');
    } finally {
      await exec('n2', ['ip', 'link', 'set', 'wg0', 'mtu', String(rendered.plan.wireguard.mtu)], false);
      await exec('n3', ['ufw', '--force', 'delete', '1'], false);
      await exec('n1', ['ufw', '--force', 'delete', '1'], false);
    }
  },
);

/** packets and bytes of VXLAN (4789/udp) a node sent out of wg0 and out of any other interface */
async function vxlanSent(n: string): Promise<{ wg0: number; elsewhere: number }> {
  const rules = (await exec(n, ['iptables', '-w', '-v', '-S', 'OUTPUT'])).stdout;
  const count = (neg: boolean) => {
    const m = new RegExp(`^-A OUTPUT ${neg ? '! ' : ''}-o wg0 -p udp -m udp --dport 4789 -c (\\d+) \\d+$`, 'm').exec(rules);
    if (!m) throw new Error(`no VXLAN counter on ${n}:\n${rules}`);
    return Number(m[1]);
  };
  return { wg0: count(false), elsewhere: count(true) };
}
// Counting rules only (no target): the packet goes on through UFW's and Docker's chains.
const vxlanCounters = (n: string, op: '-I' | '-D') =>
  Promise.all(
    ['', '!'].map((neg) =>
      exec(
        n,
        [
          'iptables',
          '-w',
          op,
          'OUTPUT',
          ...(op === '-I' ? ['1'] : []),
          ...(neg ? [neg] : []),
          '-o',
          'wg0',
          '-p',
          'udp',
          '-m',
          'udp',
          '--dport',
          '4789',
        ],
        op === '-I',
      ),
    ),
  );

test(
  'the Swarm target on the swarm Ansible formed: up converges, an edge on one node reaches replicas on the others over the overlay (VXLAN on wg0), doctor passes, a rolling update under load loses nothing, a backup and an in-place restore on the data node, down --volumes leaves nothing',
  { skip, timeout: 15 * 60_000 },
  async () => {
    const t0 = performance.now();
    const seconds = (since: number) => +((performance.now() - since) / 1000).toFixed(1);
    const local = await ensureTestImages({ progress: null });
    const apiImage = await ensureApiImage(local.node!);

    // The reference API behind HAProxy with PostgreSQL, as the cluster's own spec deploys it; the
    // host reaches each engine through its node's socket (cluster.manager, nodes[].dockerHost).
    const stackDir = join(dir, 'stack');
    mkdirSync(stackDir);
    const spec = parse(readFileSync(join(dir, 'wharf.yaml'), 'utf8')) as Record<string, any>;
    localSpec(spec, local);
    spec.services = {
      api: {
        image: apiImage,
        port: 3000,
        replicas: 3,
        routes: [{ host: 'api.shop.localhost' }],
        // a short health window: the rolling update watches each new task for 23 + 5 s, not 48 + 5 s
        health: { path: '/health', ready: '/ready', interval: '2s', startPeriod: '10s' },
        uses: ['db'],
      },
    };
    // backed up: a backup and an in-place restore run on the node that holds it, through its engine
    spec.databases = {
      db: { engine: 'postgres', backup: { schedule: quietSchedule(), verify: { schedule: quietSchedule() }, retention: { keepLast: 3 } } },
    };
    delete spec.caches;
    spec.monitoring = { enabled: false };
    spec.cluster = {
      ...spec.cluster,
      manager: engineHost('n1'),
      nodes: spec.cluster.nodes.map((n: { name: string }) => ({ ...n, dockerHost: engineHost(n.name) })),
      // the nodes have no registry: the images are loaded below, tags are content hashes
      resolveImage: 'never',
      // wg0 already encrypts every packet between the nodes (and this VM's kernel may lack the ESP IPsec overlays need)
      encryptNetworks: false,
    };
    writeFileSync(join(stackDir, 'wharf.yaml'), stringify(spec));
    const p = await prepare({ specPath: join(stackDir, 'wharf.yaml'), target: 'swarm' });
    assert.deepEqual(
      p.warnings.filter((w) => /refuses this/.test(w.message)).map((w) => w.message),
      [],
    );
    const ctx = await targetContext({
      target: 'swarm',
      plan: p.plan,
      stack: p.stack,
      outDir: p.outDir,
      projectDir: stackDir,
      secretsDir: p.secretsDir,
    });
    const engine = ctx.engine as SwarmEngine;

    const stackFile = parse(readFileSync(join(p.outDir, 'stack.yaml'), 'utf8')) as { services: Record<string, { image: string }> };
    const refs = [...new Set(Object.values(stackFile.services).map((x) => x.image))].sort();
    const tLoad = performance.now();
    const tar = join(dir, 'images.tar');
    await execa('docker', ['save', '-o', tar, ...refs]);
    await Promise.all(names.map((n) => execa('docker', ['exec', '-i', container(n), 'docker', 'load', '-q'], { inputFile: tar })));
    rmSync(tar);
    numbers.swarmImageLoadSeconds = seconds(tLoad);
    log(`loaded ${refs.join(', ')} into ${names.length} nodes in ${numbers.swarmImageLoadSeconds}s`);

    for (const n of names) await vxlanCounters(n, '-I');
    let gone: Awaited<ReturnType<typeof down>> | Error;
    try {
      const tUp = performance.now();
      const r = await up(ctx, { timeoutMs: 5 * 60_000, pollMs: 2000 });
      numbers.swarmUpSeconds = seconds(tUp);
      log(`up in ${numbers.swarmUpSeconds}s: ${r.services.map((x) => `${x.service}=${x.healthy}/${x.desired}`).join(' ')}`);
      assert.ok(
        r.services.every((x) => x.state === 'healthy'),
        JSON.stringify(r.services),
      );
      assert.equal(r.services.find((x) => x.service === 'proxy')?.desired, names.length, 'the edge runs on every node');

      // Which node runs which API replica: its instance id is its container's host name (12 hex of the id).
      const apis = (await listContainers(engine, run)).filter((c) => c.service === 'api' && c.state === 'running');
      const nodeOf = new Map(apis.map((c) => [c.id.slice(0, 12), c.node!]));
      const apiNodes = new Set(nodeOf.values());
      numbers.swarmApiNodes = apiNodes.size;
      assert.ok(apiNodes.size > 1, `every API task runs on ${[...apiNodes].join(', ')}`);
      assert.deepEqual(
        [...new Set((await listContainers(engine, run)).filter((c) => c.service === 'db').map((c) => c.node))],
        ['n3'],
        'the database on the node labelled wharf.db',
      );

      // Through n1's edge only: HAProxy admits each replica after two passed checks.
      const edge = { host: 'api.shop.localhost', port: p.plan.proxy.httpsPort, address: rendered.plan.nodes[0]!.publicAddress };
      const tEdge = performance.now();
      const seen = new Set<string>();
      while (seen.size < nodeOf.size && performance.now() - tEdge < 90_000) {
        const res = await edgeRequest({ ...edge, path: '/health' }).catch(() => undefined);
        if (res?.status === 200) seen.add(String(res.headers['x-instance']));
        else await new Promise((res) => setTimeout(res, 500));
      }
      numbers.swarmEdgeAllReplicasSeconds = seconds(tEdge);
      assert.equal(seen.size, nodeOf.size, `n1's edge reaches only ${[...seen].join(', ')} of ${[...nodeOf.keys()].join(', ')}`);

      const before = await vxlanSent('n1');
      const byNode = new Map<string, number>();
      for (let i = 0; i < 60; i++) {
        // /api/data reads PostgreSQL on n3: replicas on n1 and n2 reach it over the backend overlay
        const res = await edgeRequest({ ...edge, path: '/api/data', timeoutMs: 10_000 });
        assert.equal(res.status, 200, `/api/data through n1: ${res.status} ${res.body.slice(0, 200)}`);
        const node = nodeOf.get(String(res.headers['x-instance']));
        assert.ok(node, `unknown instance ${String(res.headers['x-instance'])}`);
        byNode.set(node, (byNode.get(node) ?? 0) + 1);
      }
      const sent = await vxlanSent('n1');
      log(
        `60 requests through n1's edge answered by ${JSON.stringify(Object.fromEntries([...byNode].sort()))}; n1 sent ${sent.wg0 - before.wg0} VXLAN packets on wg0 meanwhile`,
      );
      numbers.swarmAnsweringNodes = byNode.size;
      numbers.swarmRequestsAnsweredElsewhere = [...byNode].filter(([n]) => n !== 'n1').reduce((a, [, c]) => a + c, 0);
      numbers.swarmVxlanPacketsOnWg0 = sent.wg0 - before.wg0;
      assert.ok(numbers.swarmRequestsAnsweredElsewhere > 0, 'no request through n1 reached a replica on another node');
      assert.ok(sent.wg0 > before.wg0, 'the requests crossed nodes without VXLAN on wg0');
      for (const n of names) assert.equal((await vxlanSent(n)).elsewhere, 0, `${n} sent VXLAN off wg0`);

      const d = await doctor(ctx);
      numbers.swarmDoctorSeconds = +(d.durationMs / 1000).toFixed(1);
      const bad = d.checks.filter((c) => c.status === 'fail' || c.status === 'warn');
      log(`doctor: ${JSON.stringify(d.summary)}${bad.length ? `; ${bad.map((c) => `${c.id} ${c.status}: ${c.detail}`).join(' | ')}` : ''}`);
      assert.equal(d.summary.fail, 0, bad.map((c) => `${c.id}: ${c.detail}`).join('\n'));
      for (const id of [
        'swarm',
        'cluster:nodes',
        'cluster:quorum',
        'cluster:port:2377',
        'cluster:peers:edge',
        'cluster:peers:backend',
        ...names.map((n) => `cluster:engine:${n}`),
      ]) {
        assert.equal(d.checks.find((c) => c.id === id)?.status, 'ok', id);
      }
      // the overlays fit inside wg0 (VXLAN adds 50 bytes): no full-size packet is fragmented
      assert.match(
        d.checks.find((c) => c.id === 'cluster:peers:backend')!.detail,
        new RegExp(`MTU ${rendered.plan.wireguard.overlayMtu}$`),
      );

      // A rolling update of the API (start-first, as rendered) under load through n1's edge only:
      // new tasks on every node admitted and old ones drained across wg0, no request lost.
      const instances = async () =>
        new Set(
          (await listContainers(engine, run)).filter((c) => c.service === 'api' && c.state === 'running').map((c) => c.id.slice(0, 12)),
        );
      const oldTasks = await instances();
      const load = edgeLoad(() => edgeRequest({ ...edge, path: '/api/data', timeoutMs: 10_000 }));
      await new Promise((res) => setTimeout(res, 2000));
      const rolled = await rollout(ctx, ['api'], { pollMs: 1000 });
      await new Promise((res) => setTimeout(res, 2000));
      const { results, failed } = await load.end();
      const newTasks = await instances();
      Object.assign(numbers, {
        swarmRollingUpdateSeconds: +(rolled.durationMs / 1000).toFixed(1),
        swarmRollingUpdateRequests: results.length,
        swarmRollingUpdateFailed: failed.length,
      });
      log(
        `rolling update in ${numbers.swarmRollingUpdateSeconds}s: ${results.length} requests through n1, ${failed.length} failed${failed.length ? ` (${[...new Set(failed.map((f) => f.why))].slice(0, 3).join('; ')})` : ''}`,
      );
      assert.ok(
        rolled.rollouts.every((x) => x.ok),
        JSON.stringify(rolled.rollouts),
      );
      assert.equal(newTasks.size, 3);
      assert.ok(
        [...newTasks].every((i) => !oldTasks.has(i)),
        'every task was replaced',
      );
      assert.ok(results.length > 100, `only ${results.length} requests`);
      assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${results.length} requests failed: none may be lost`);

      // Backup and in-place restore of the database on n3: the API scaled to 0 and back, and the
      // restore returns only once every node's edge routes to every API task again.
      const post = async (name: string) => {
        const r = await edgeRequest({
          ...edge,
          path: '/api/items',
          method: 'POST',
          timeoutMs: 10_000,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name, description: 'through the cluster' }),
        });
        assert.equal(r.status, 201, r.body);
      };
      const items = async () => {
        const r = await edgeRequest({ ...edge, path: '/api/items?limit=100', timeoutMs: 10_000 });
        assert.equal(r.status, 200, r.body);
        return (JSON.parse(r.body) as { items: Array<{ name: string }> }).items.map((i) => i.name);
      };
      await post('kept by the backup');
      const ex = await stackBackupExecutor(ctx);
      const tBackup = performance.now();
      const [b] = await backupNow(ex, { target: 'db' });
      numbers.swarmBackupSeconds = seconds(tBackup);
      assert.ok(b?.ok, b?.error);
      await post('written after the backup');
      const tRestore = performance.now();
      const restored = await restoreBackup(ex, { target: 'db', confirm: () => true });
      numbers.swarmRestoreSeconds = seconds(tRestore);
      assert.ok(restored.ok, restored.error);
      assert.ok(restored.restarted?.includes('api'), 'the API was stopped first and started again');
      const after = await items();
      log(`backup ${numbers.swarmBackupSeconds}s, in-place restore ${numbers.swarmRestoreSeconds}s; items after: ${after.join(', ')}`);
      assert.ok(after.includes('kept by the backup'), after.join(', '));
      assert.ok(!after.includes('written after the backup'), 'the restore went back to the snapshot');
    } finally {
      // down runs however the checks above ended; its own failure is reported below, not instead of theirs
      const tDown = performance.now();
      gone = await down(ctx, { volumes: true }).catch((e: Error) => e);
      numbers.swarmDownSeconds = seconds(tDown);
      for (const n of names) await vxlanCounters(n, '-D');
      numbers.swarmTestSeconds = seconds(t0);
    }
    if (gone instanceof Error) throw gone;
    assert.ok(gone.removedContainers > 0);
    assert.deepEqual(gone.remaining, { containers: 0, networks: 0, volumes: [] });
    for (const n of names) {
      const left = await execa('docker', ['ps', '-aq', '--filter', `label=com.docker.stack.namespace=${p.plan.name}`], {
        env: { DOCKER_HOST: engineHost(n) },
      });
      const vols = await execa('docker', ['volume', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${p.plan.name}`], {
        env: { DOCKER_HOST: engineHost(n) },
      });
      assert.equal(`${left.stdout.trim()}${vols.stdout.trim()}`, '', `left on ${n}`);
    }
  },
);

test('no private key in anything ansible printed', { skip }, () => {
  const all = output.join('\n');
  assert.ok(all.length > 1000, 'ansible output was recorded');
  for (const n of names) {
    const priv = readFileSync(join(rendered.secretsDir, wgKeyFile(n)), 'utf8').trim();
    assert.ok(!all.includes(priv), `${n}'s private key was printed`);
  }
});

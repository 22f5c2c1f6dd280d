// `wharf cluster`: the cluster: section's rules name the node at fault; the rendered Ansible
// project passes ansible-playbook --syntax-check and ansible-lint; WireGuard keys are the
// ones `wg pubkey` derives, and no private key reaches a rendered file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parse, stringify } from 'yaml';
import { parseSpecText } from '../../src/spec/load.js';
import { buildClusterPlan, mtus } from '../../src/plan/cluster.js';
import { clusterRender } from '../../src/ops/cluster.js';
import { generatePrivateKey, publicKeyOf, wgKeyFile } from '../../src/secrets/wireguard.js';
import { renderCluster } from '../../src/render/cluster/index.js';
import { repoRoot, templateText } from '../support/templates.js';
import { requireTool, toolPath } from '../support/tools.js';

const three = () => [
  { name: 'n1', address: '203.0.113.10', labels: { db: 'true' } },
  { name: 'n2', address: '203.0.113.11' },
  { name: 'n3', address: '2001:db8::3' },
];
function specWith(cluster: Record<string, unknown>, target?: string): string {
  const d = parse(templateText('api'));
  d.cluster = cluster;
  if (target) d.target = target;
  return stringify(d);
}
const errors = (cluster: Record<string, unknown>) => parseSpecText(specWith(cluster)).issues.filter((i) => i.severity === 'error');

test('cluster rules: duplicate names, public and wg0 addresses are named by node path', () => {
  const nodes = [...three(), { name: 'n1', address: '203.0.113.10', wgAddress: '10.213.0.2' }];
  const e = errors({ nodes });
  assert.deepEqual(e.map((i) => i.path).sort(), ['cluster.nodes[3].address', 'cluster.nodes[3].name', 'cluster.nodes[3].wgAddress']);
  assert.match(e.find((i) => i.path.endsWith('.name'))!.message, /cluster\.nodes\[0\]/);
});

test('cluster rules: the subnet grammar, its size and wg0 addresses inside it', () => {
  assert.deepEqual(
    errors({ nodes: three(), wireguard: { subnet: '10.213.0.0/33' } }).map((i) => i.path),
    ['cluster.wireguard.subnet'],
  );
  assert.deepEqual(
    errors({ nodes: three(), wireguard: { subnet: 'fd00::/64' } }).map((i) => i.path),
    ['cluster.wireguard.subnet'],
  );
  const small = errors({ nodes: three(), wireguard: { subnet: '10.9.0.0/30' } });
  assert.equal(small.length, 1);
  assert.match(small[0]!.message, /2 host addresses for 3 nodes/);
  const outside = errors({ nodes: [...three().slice(0, 2), { name: 'n3', address: '203.0.113.12', wgAddress: '10.214.0.3' }] });
  assert.deepEqual(
    outside.map((i) => i.path),
    ['cluster.nodes[2].wgAddress'],
  );
  assert.match(outside[0]!.hint ?? '', /10\.213\.0\.3/);
  assert.deepEqual(
    errors({ nodes: three(), ssh: { user: 'root; rm -rf /' } }).map((i) => i.path),
    ['cluster.ssh.user'],
  );
});

test('MTU: 1500 underlay - 80 WireGuard (IPv6 worst case) = 1420 on wg0; - 50 VXLAN = 1370 for the overlay', () => {
  assert.deepEqual(mtus(1500), { mtu: 1420, overlayMtu: 1370 });
  // the overlay packet plus both encapsulations fits the underlay exactly
  const { mtu, overlayMtu } = mtus(9000);
  assert.equal(overlayMtu + 50 + 80, 9000);
  assert.equal(mtu, 8920);
  const stack = parseSpecText(specWith({ nodes: three(), wireguard: { underlayMtu: 1400 } })).stack!;
  assert.deepEqual([buildClusterPlan(stack).wireguard.mtu, buildClusterPlan(stack).wireguard.overlayMtu], [1320, 1270]);
});

test('WireGuard keys: node:crypto keys are the ones wg pubkey derives, both ways', (t) => {
  const wg = toolPath('wg');
  const skip = requireTool(!!wg, 'wg (wireguard-tools)');
  if (skip) return t.skip(skip);
  for (let i = 0; i < 5; i++) {
    const ours = generatePrivateKey();
    assert.equal(publicKeyOf(ours), execFileSync(wg!, ['pubkey'], { input: `${ours}\n`, encoding: 'utf8' }).trim());
    const theirs = execFileSync(wg!, ['genkey'], { encoding: 'utf8' }).trim();
    assert.equal(publicKeyOf(theirs), execFileSync(wg!, ['pubkey'], { input: `${theirs}\n`, encoding: 'utf8' }).trim());
  }
});

/** Renders a project for `cluster` in a fresh directory. */
async function renderProject(cluster: Record<string, unknown>, target?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-cluster-'));
  writeFileSync(join(dir, 'wharf.yaml'), specWith(cluster, target));
  return { dir, r: await clusterRender(join(dir, 'wharf.yaml')) };
}

test("render: inventory carries the spec's values, keys stay secret, a second render changes nothing", async () => {
  const { dir, r } = await renderProject({ nodes: three(), wireguard: { port: 51999 } });
  try {
    const inv = parse(readFileSync(join(r.outDir, 'inventory.yml'), 'utf8'));
    const n3 = inv.all.children.managers.hosts.n3;
    assert.equal(n3.wg_endpoint, '[2001:db8::3]:51999');
    assert.equal(n3.wg_address, '10.213.0.3');
    assert.equal(inv.all.vars.wg_mtu, 1420);
    assert.equal(inv.all.vars.overlay_mtu, 1370);
    assert.equal(inv.all.vars.swarm_bootstrap, 'n1');
    assert.deepEqual(inv.all.children.managers.hosts.n1.node_labels, { db: 'true' });
    for (const n of ['n1', 'n2', 'n3']) {
      const keyPath = join(r.secretsDir, wgKeyFile(n));
      assert.equal(statSync(keyPath).mode & 0o777, 0o600);
      const priv = readFileSync(keyPath, 'utf8').trim();
      assert.equal(inv.all.children.managers.hosts[n].wg_public_key, publicKeyOf(priv));
      for (const f of r.files) assert.ok(!f.contents.includes(priv), `${f.path} holds ${n}'s private key`);
    }
    const again = await clusterRender(join(dir, 'wharf.yaml'));
    assert.deepEqual(again.write.written, []);
    assert.deepEqual(again.keys.created, []);
    const swarm = parse(readFileSync(join(r.outDir, 'roles/swarm/tasks/main.yml'), 'utf8'));
    const init = swarm.find((t: any) => t['community.docker.docker_swarm']?.state === 'present')['community.docker.docker_swarm'];
    assert.equal(init.advertise_addr, '{{ wg_address }}');
    assert.equal(init.data_path_addr, '{{ wg_address }}');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const variants: Array<[string, Record<string, unknown>, string?]> = [
  ['three managers', { nodes: three() }],
  [
    'k8s target: three K3s servers and an agent',
    { nodes: [...three(), { name: 'w1', address: '198.51.100.7', role: 'worker', labels: { zone: 'b' } }] },
    'k8s',
  ],
  ['k8s target: one K3s server, firewall off', { nodes: [three()[0]], firewall: { enabled: false } }, 'k8s'],
  [
    'managers and a worker, firewall off, SSH from a range',
    {
      nodes: [...three(), { name: 'w1', address: '198.51.100.7', role: 'worker', sshUser: 'deploy' }],
      firewall: { enabled: false, sshFrom: ['192.0.2.0/24'] },
      ssh: { port: 2222 },
    },
  ],
  ['one manager, jumbo underlay', { nodes: [three()[0]], wireguard: { underlayMtu: 9000, subnet: '172.31.7.0/28' } }],
];

for (const [name, cluster, target] of variants) {
  test(`rendered project (${name}) passes ansible-playbook --syntax-check and ansible-lint (production profile)`, async (t) => {
    const playbook = toolPath('ansible-playbook');
    const lint = toolPath('ansible-lint');
    const skip = requireTool(!!playbook && !!lint, 'ansible-playbook and ansible-lint');
    if (skip) return t.skip(skip);
    const { dir, r } = await renderProject(cluster, target);
    try {
      // both playbooks in one ansible-playbook (its start is most of a syntax check's CPU)
      execFileSync(playbook!, ['--syntax-check', 'site.yml', 'preflight.yml'], { cwd: r.outDir, stdio: 'pipe' });
      try {
        execFileSync(lint!, ['--offline', '--profile', 'production', '--nocolor', '-q', 'site.yml', 'preflight.yml'], {
          cwd: r.outDir,
          stdio: 'pipe',
          encoding: 'utf8',
        });
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string };
        assert.fail(`ansible-lint failed:\n${e.stdout}\n${e.stderr}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("community.docker.docker_swarm is documented offline (Debian's ansible bundles the collection)", (t) => {
  const doc = toolPath('ansible-doc');
  const skip = requireTool(!!doc, 'ansible-doc');
  if (skip) return t.skip(skip);
  const docs = moduleDocs(doc!, ['community.docker.docker_swarm', 'community.docker.docker_node', 'community.general.ufw']);
  for (const [m, option] of [
    ['community.docker.docker_swarm', 'advertise_addr'],
    ['community.docker.docker_node', 'hostname'],
    ['community.general.ufw', 'rule'],
  ] as const)
    assert.ok(docs[m]?.doc.options[option], `${m}: no documented option ${option}`);
});

/** ansible-doc of many modules in one run (each run spends ~0.5 s of CPU loading Ansible); a module it cannot find is absent. */
function moduleDocs(doc: string, modules: string[]): Record<string, { doc: { options: Record<string, unknown> } } | undefined> {
  return JSON.parse(execFileSync(doc, ['-t', 'module', '--json', ...modules], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
}

const bin = join(import.meta.dirname, '..', '..', 'bin', 'wharf.js');
const wharf = (cwd: string, ...args: string[]) => execa(process.execPath, [bin, ...args], { cwd, reject: false, env: { NO_COLOR: '1' } });
const listing = (d: string) => readdirSync(d, { recursive: true }).map(String).sort();

test('wharf cluster render: bad nodes exit 2 with every issue by path, and nothing is written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-cluster-cli-'));
  try {
    writeFileSync(
      join(dir, 'wharf.yaml'),
      specWith({ nodes: [...three(), { name: 'n2', address: '203.0.113.11', sshUser: 'Root$(id)' }], wireguard: { subnet: '10.0.0.0' } }),
    );
    const before = listing(dir);
    const r = await wharf(dir, 'cluster', 'render');
    assert.equal(r.exitCode, 2, r.stderr);
    for (const p of ['cluster.nodes[3].sshUser', 'cluster.wireguard.subnet'])
      assert.match(r.stderr, new RegExp(p.replace(/[[\].]/g, '\\$&')));
    assert.deepEqual(listing(dir), before);
    writeFileSync(join(dir, 'wharf.yaml'), specWith({ nodes: three().map((n) => ({ ...n, role: 'worker' })) }));
    const none = await wharf(dir, 'cluster', 'render');
    assert.equal(none.exitCode, 2);
    assert.match(none.stderr, /cluster\.nodes.*no manager/);
    writeFileSync(join(dir, 'wharf.yaml'), specWith({ nodes: three() }));
    const ok = await wharf(dir, 'cluster', 'render');
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.match(ok.stdout, /wg0 MTU 1420, overlay MTU 1370/);
    for (const n of ['n1', 'n2', 'n3'])
      assert.ok(!ok.stdout.includes(readFileSync(join(dir, '.wharf', 'secrets', wgKeyFile(n)), 'utf8').trim()));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('wharf cluster preflight: hosts that do not answer fail as ssh-unreachable, with exit 1 (real ansible-playbook)', async (t) => {
  const skip = requireTool(!!toolPath('ansible-playbook'), 'ansible-playbook');
  if (skip) return t.skip(skip);
  const { dir, r } = await renderProject({ nodes: three() });
  try {
    // a connection that cannot succeed and sends nothing anywhere: docker exec into containers that do not exist
    const hosts = join(dir, 'hosts.yml');
    writeFileSync(
      hosts,
      stringify({
        all: {
          vars: { ansible_connection: 'community.docker.docker' },
          hosts: Object.fromEntries(['n1', 'n2', 'n3'].map((n) => [n, { ansible_host: `wharf-boot-absent-${n}-${process.pid}` }])),
        },
      }),
    );
    const res = await wharf(dir, 'cluster', 'preflight', '-i', hosts, '--json');
    assert.equal(res.exitCode, 1, res.stderr);
    const p = JSON.parse(res.stdout) as { ok: boolean; checks: Array<{ id: string; status: string; cause?: string; hint?: string }> };
    assert.equal(p.ok, false);
    assert.deepEqual(
      p.checks.map((c) => [c.id, c.status, c.cause]),
      ['n1', 'n2', 'n3'].map((n) => [`ssh:${n}`, 'fail', 'ssh-unreachable']),
    );
    assert.match(p.checks[0]!.hint ?? '', /ssh -p 22 root@203\.0\.113\.10/);
    assert.equal(r.outDir, join(dir, '.wharf', 'cluster'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('snapshot: the rendered Ansible project (test/snapshots/cluster, UPDATE_SNAPSHOTS=1 to accept)', () => {
  const stack = parseSpecText(
    specWith({ nodes: [...three(), { name: 'w1', address: '198.51.100.7', role: 'worker', labels: { zone: 'b' } }] }),
  ).stack!;
  const plan = buildClusterPlan(stack);
  // fixed keys, so the snapshot is stable: the renderer is pure, keys are its input
  const keys = Object.fromEntries(plan.nodes.map((n, i) => [n.name, publicKeyOf(Buffer.alloc(32, i + 1).toString('base64'))]));
  const files = renderCluster(plan, keys);
  const dir = join(repoRoot, 'test', 'snapshots', 'cluster');
  if (process.env.UPDATE_SNAPSHOTS === '1') {
    rmSync(dir, { recursive: true, force: true });
    for (const f of files) {
      mkdirSync(dirname(join(dir, f.path)), { recursive: true });
      writeFileSync(join(dir, f.path), f.contents);
    }
  }
  const onDisk = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
  assert.deepEqual(files.map((f) => f.path).sort(), onDisk);
  for (const f of files) assert.equal(f.contents, readFileSync(join(dir, f.path), 'utf8'), `cluster/${f.path} differs from its snapshot`);
});

test('wharf cluster apply: unreachable hosts are a failed apply (exit 1) with a per-host summary (real ansible-playbook)', async (t) => {
  const skip = requireTool(!!toolPath('ansible-playbook'), 'ansible-playbook');
  if (skip) return t.skip(skip);
  const { dir } = await renderProject({ nodes: three() });
  try {
    const hosts = join(dir, 'hosts.yml');
    writeFileSync(
      hosts,
      stringify({
        all: {
          vars: { ansible_connection: 'community.docker.docker' },
          hosts: Object.fromEntries(['n1', 'n2', 'n3'].map((n) => [n, { ansible_host: `wharf-boot-absent-${n}-${process.pid}` }])),
        },
      }),
    );
    const res = await wharf(dir, 'cluster', 'apply', '-i', hosts, '--tags', 'wireguard', '--json');
    assert.equal(res.exitCode, 1, res.stderr);
    const a = JSON.parse(res.stdout) as {
      ok: boolean;
      hosts: Array<{ host: string; unreachable: number; changed: number }>;
      tail: string[];
    };
    assert.equal(a.ok, false);
    assert.deepEqual(
      a.hosts.map((h) => [h.host, h.unreachable, h.changed]),
      [
        ['n1', 1, 0],
        ['n2', 1, 0],
        ['n3', 1, 0],
      ],
    );
    assert.ok(
      a.tail.some((l) => /^fatal: \[n\d\]: UNREACHABLE/.test(l)),
      a.tail.join('\n'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('preflight rules: clock skew and Docker versions across nodes', async () => {
  const { preflightChecks } = await import('../../src/ops/cluster-preflight.js');
  const stack = parseSpecText(specWith({ nodes: three() })).stack!;
  const plan = buildClusterPlan(stack);
  const stats = Object.fromEntries(['n1', 'n2', 'n3'].map((n) => [n, { ok: 5, changed: 0, unreachable: 0, failures: 0, skipped: 0 }]));
  const runWith = (clock: number[], versions: string[]) => ({
    stats,
    tasks: new Map<string, Map<string, Record<string, unknown>>>([
      ['Read the clock', new Map(clock.map((c, i) => [`n${i + 1}`, { rc: 0, stdout: String(c) }]))],
      ['Read the Docker Engine version', new Map(versions.map((v, i) => [`n${i + 1}`, { host_info: { ServerVersion: v } }]))],
    ]),
  });
  const table: Array<[number[], string[], Record<string, string>]> = [
    [[100, 100.4, 100.9], ['20.10.24', '20.10.24', '20.10.24'], { clock: 'ok', 'docker-versions': 'ok' }],
    [[100, 104, 100], ['20.10.24', '24.0.7', '20.10.24'], { clock: 'warn', 'docker-versions': 'warn' }],
    [[100, 160, 100], ['24.0.7', '24.0.9', '24.0.7'], { clock: 'fail', 'docker-versions': 'ok' }],
  ];
  for (const [clock, versions, want] of table) {
    const checks = preflightChecks(runWith(clock, versions) as never, plan, {});
    const got = Object.fromEntries(checks.filter((c) => c.id in want).map((c) => [c.id, c.status]));
    assert.deepEqual(got, want, JSON.stringify({ clock, versions }));
    for (const c of checks.filter((x) => x.id in want && x.status !== 'ok'))
      assert.ok(c.cause && c.hint, `${c.id} names a cause and a fix`);
    // the probes that did not run (handshakes) are failures with their cause, never silently ok
    assert.ok(checks.filter((c) => c.id.startsWith('wg:')).every((c) => c.status === 'fail' && c.cause === 'wg-down'));
  }
});

test("preflight rules: UDP delivery as the receiver's conntrack saw it; K3s nodes are probed on K3s's ports, not on Docker", async () => {
  const { preflightChecks } = await import('../../src/ops/cluster-preflight.js');
  const { preflightPlaybook } = await import('../../src/render/cluster/preflight.js');
  const stats = Object.fromEntries(['n1', 'n2', 'n3'].map((n) => [n, { ok: 5, changed: 0, unreachable: 0, failures: 0, skipped: 0 }]));
  // what the receiver's script prints per peer (render/cluster/preflight.ts udpSeenScript)
  const runWith = (seen: Record<string, Record<string, string>>) => ({
    stats,
    tasks: new Map<string, Map<string, Record<string, unknown>>>([
      [
        "Look for the peers' datagrams in the connection tracking table",
        new Map(
          Object.entries(seen).map(([n, byPeer]) => [
            n,
            { results: Object.entries(byPeer).map(([item, stdout]) => ({ item, rc: 0, stdout })) },
          ]),
        ),
      ],
    ]),
  });
  const swarm = buildClusterPlan(parseSpecText(specWith({ nodes: three() })).stack!);
  const checks = preflightChecks(
    runWith({
      n1: { n2: '{"7946": true, "4789": false}', n3: '{"7946": true, "4789": true}' },
      n2: { n1: '{"error": "no connection tracking table (neither /proc/net/nf_conntrack nor the conntrack tool)"}' },
    }) as never,
    swarm,
    {},
  );
  const udp = Object.fromEntries(checks.filter((c) => c.id.startsWith('udp:')).map((c) => [c.id, [c.status, c.cause]]));
  assert.deepEqual(udp, {
    'udp:n2->n1:7946': ['ok', undefined],
    'udp:n2->n1:4789': ['fail', 'udp-blocked'],
    'udp:n3->n1:7946': ['ok', undefined],
    'udp:n3->n1:4789': ['ok', undefined],
    'udp:n1->n2': ['warn', 'udp-unobservable'],
    // n3's receiving probe never ran: said, not silently ok
    'udp:n3': ['warn', 'udp-unobservable'],
  });
  assert.match(checks.find((c) => c.id === 'udp:n2->n1:4789')!.detail, /VXLAN/);
  assert.ok(
    checks.some((c) => c.id === 'docker:n1' && c.cause === 'docker-missing'),
    'a swarm node without a Docker answer fails',
  );

  const k3s = buildClusterPlan(parseSpecText(specWith({ nodes: three() }, 'k8s')).stack!);
  const kc = preflightChecks(runWith({ n1: { n2: '{"8472": false}' } }) as never, k3s, {});
  assert.deepEqual(
    kc.filter((c) => c.id.startsWith('udp:')).map((c) => [c.id, c.cause]),
    [
      ['udp:n2->n1:8472', 'udp-blocked'],
      ['udp:n2', 'udp-unobservable'],
      ['udp:n3', 'udp-unobservable'],
    ],
  );
  assert.ok(!kc.some((c) => c.id.startsWith('docker')), 'K3s nodes run no Docker');
  const tasks = (o: 'swarm' | 'k3s') => preflightPlaybook(o)[0]!.tasks as Array<Record<string, unknown>>;
  const loops = (o: 'swarm' | 'k3s') =>
    tasks(o).map((t) => [t.name, t.loop ?? (t['ansible.builtin.command'] as { argv?: string[] } | undefined)?.argv?.at(-1)]);
  assert.match(String(loops('k3s').find(([n]) => /TCP ports/.test(String(n)))![1]), /\["10250"\].*\["6443"\]/);
  assert.equal(loops('k3s').find(([n]) => /Send a datagram/.test(String(n)))![1], '8472');
  assert.equal(loops('swarm').find(([n]) => /Send a datagram/.test(String(n)))![1], '7946,4789');
  assert.ok(!tasks('k3s').some((t) => 'community.docker.docker_host_info' in t));
});

test('swarm target with cluster.nodes: every overlay carries the overlay MTU that fits VXLAN inside wg0', async () => {
  const { buildPlan } = await import('../../src/plan/build.js');
  const { renderAll } = await import('../../src/render/index.js');
  const { planPaths } = await import('../../src/ops/prepare.js');
  const hashes = (p: { secrets: Array<{ name: string }> }) => Object.fromEntries(p.secrets.map((s) => [s.name, 'a'.repeat(64)]));
  const networksOf = (cluster: Record<string, unknown> | undefined) => {
    const d = parse(templateText('api'));
    delete d.services.api.build;
    d.services.api.image = 'registry.example.com/shop/api:1.4.2';
    if (cluster) d.cluster = cluster;
    const plan = buildPlan(parseSpecText(stringify(d)).stack!, planPaths);
    return parse(renderAll(plan, 'swarm', { secretHashes: hashes(plan) }).find((f) => f.path === 'stack.yaml')!.contents)
      .networks as Record<string, { driver_opts?: Record<string, string> }>;
  };
  const withNodes = networksOf({ nodes: three() });
  assert.deepEqual(
    Object.values(withNodes).map((n) => n.driver_opts?.['com.docker.network.driver.mtu']),
    Object.keys(withNodes).map(() => '1370'),
  );
  assert.equal(withNodes.backend!.driver_opts!.encrypted, '');
  assert.equal(
    networksOf({ nodes: three(), wireguard: { underlayMtu: 9000 } }).backend!.driver_opts!['com.docker.network.driver.mtu'],
    '8870',
  );
  assert.ok(
    Object.values(networksOf(undefined)).every((n) => !n.driver_opts?.['com.docker.network.driver.mtu']),
    'no nodes, no MTU',
  );
});

test('k3s role: Ansible itself renders config.yaml for the bootstrap server, a joining server and an agent, all on wg0', async (t) => {
  const playbook = toolPath('ansible-playbook');
  const skip = requireTool(!!playbook, 'ansible-playbook');
  if (skip) return t.skip(skip);
  const { dir, r } = await renderProject(
    { nodes: [...three(), { name: 'w1', address: '198.51.100.7', role: 'worker', labels: { zone: 'b' } }] },
    'k8s',
  );
  try {
    const out = join(dir, 'configs');
    mkdirSync(out);
    // the template module on this machine only (local connection): the join token is a stand-in
    writeFileSync(
      join(r.outDir, 'render-config.yml'),
      stringify([
        {
          hosts: 'all',
          gather_facts: false,
          become: false,
          tasks: [
            {
              'ansible.builtin.set_fact': { k3s_token_read: { content: Buffer.from('K10stand-in-token::server:x\n').toString('base64') } },
              when: 'inventory_hostname != k3s_bootstrap',
            },
            {
              'ansible.builtin.template': {
                src: 'roles/k3s/templates/config.yaml.j2',
                dest: `${out}/{{ inventory_hostname }}.yaml`,
                mode: '0600',
              },
            },
          ],
        },
      ]),
    );
    const res = await execa(playbook!, ['render-config.yml', '-e', 'ansible_connection=local'], { cwd: r.outDir, reject: false });
    assert.equal(res.exitCode, 0, `${res.stdout}\n${res.stderr}`);
    const cfg = (n: string) => parse(readFileSync(join(out, `${n}.yaml`), 'utf8'));
    const inv = parse(readFileSync(join(r.outDir, 'inventory.yml'), 'utf8'));
    assert.equal(inv.all.vars.k3s_version, 'v1.32.0+k3s1');
    assert.equal(inv.all.vars.k3s_bootstrap, 'n1');
    assert.equal(inv.all.children.workers.hosts.w1.k3s_role, 'agent');
    assert.deepEqual(cfg('n1'), {
      'node-name': 'n1',
      'node-ip': '10.213.0.1',
      'flannel-iface': 'wg0',
      'node-label': ['db=true'],
      'advertise-address': '10.213.0.1',
      'tls-san': ['10.213.0.1'],
      'write-kubeconfig-mode': '0600',
      'secrets-encryption': true,
      'cluster-init': true,
    });
    assert.deepEqual(cfg('n2'), {
      'node-name': 'n2',
      'node-ip': '10.213.0.2',
      'flannel-iface': 'wg0',
      'advertise-address': '10.213.0.2',
      'tls-san': ['10.213.0.2'],
      'write-kubeconfig-mode': '0600',
      'secrets-encryption': true,
      server: 'https://10.213.0.1:6443',
      token: 'K10stand-in-token::server:x',
    });
    assert.deepEqual(cfg('w1'), {
      'node-name': 'w1',
      'node-ip': '10.213.0.4',
      'flannel-iface': 'wg0',
      'node-label': ['zone=b'],
      server: 'https://10.213.0.1:6443',
      token: 'K10stand-in-token::server:x',
    });
    // the Swarm roles and ports are gone; K3s's are only on wg0
    assert.ok(!r.files.some((f) => /roles\/(docker|swarm)\//.test(f.path)));
    const fw = parse(readFileSync(join(r.outDir, 'roles/firewall/tasks/main.yml'), 'utf8')) as any[];
    const onWg0 = fw.filter((x) => x['community.general.ufw']?.interface === 'wg0');
    assert.deepEqual(
      onWg0.flatMap((x) =>
        x.loop
          ? x.loop.map((l: any) => `${l.port}/${l.proto}`)
          : [`${x['community.general.ufw'].port}/${x['community.general.ufw'].proto}`],
      ),
      ['6443/tcp', '10250/tcp', '8472/udp', '2379:2380/tcp'],
    );
    for (const x of onWg0) assert.equal(x['community.general.ufw'].from_ip, '{{ wg_subnet }}');
    assert.ok(!JSON.stringify(fw).includes('2377') && !JSON.stringify(fw).includes('7946'));
    const dl = (parse(readFileSync(join(r.outDir, 'roles/k3s/tasks/main.yml'), 'utf8')) as any[]).find(
      (x) => x['ansible.builtin.get_url'],
    )!;
    assert.match(dl['ansible.builtin.get_url'].checksum, /^sha256:\{\{ k3s_release_url \}\}\/sha256sum-/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("k3s role: every module it names is documented by this machine's Ansible", async (t) => {
  const doc = toolPath('ansible-doc');
  const skip = requireTool(!!doc, 'ansible-doc');
  if (skip) return t.skip(skip);
  const { dir, r } = await renderProject({ nodes: three() }, 'k8s');
  try {
    const modules = new Set<string>();
    for (const f of r.files.filter((x) => /^roles\/(k3s|firewall)\/(tasks|handlers)\//.test(x.path))) {
      for (const task of parse(f.contents) as Array<Record<string, unknown>>)
        for (const k of Object.keys(task)) if (/^[a-z_]+\.[a-z_]+\.[a-z_]+$/.test(k)) modules.add(k);
    }
    assert.ok(modules.size >= 7, [...modules].join(', '));
    const docs = moduleDocs(doc!, [...modules]);
    for (const m of modules) assert.ok(docs[m]?.doc, `${m} is not documented by this machine's Ansible`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

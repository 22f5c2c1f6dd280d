// `wharf cluster` on hosts that boot as real nodes do: systemd as PID 1 (scripts/docker/
// cluster-node/Dockerfile.systemd), reached with Ansible's community.docker.docker connection.
// cluster.e2e.test.ts proves the roles on hosts without an init system; here the roles take
// their production paths: wg0 through the enabled wg-quick@wg0 unit (with the userspace
// drop-in), sshd, fail2ban and UFW as enabled units, fail2ban's sshd jail reading the journal
// (backend systemd: Debian 12's sshd logs nowhere else). Repeated failed SSH logins get the
// node that made them banned from the journal; a second apply changes nothing; and after a
// reboot (the container restarted: systemd shuts down and boots again) wg0, the jail and UFW
// are back by themselves, with a fresh handshake.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { clusterApply, clusterRender, type ClusterRendered } from '../../src/ops/cluster.js';
import { run, type Runner } from '../../src/engine/run.js';
import { wgKeyFile } from '../../src/secrets/wireguard.js';
import { templateText } from '../support/templates.js';
import { requireTool, toolPath } from '../support/tools.js';
import { assertHandshakes, hostImage, HOST_RUN_FLAGS, testHosts, waitBanned } from './support/cluster-hosts.js';
import { dockerSkipReason } from './support/images.js';

const skip = dockerSkipReason() ?? requireTool(!!toolPath('ansible-playbook'), 'ansible-playbook');
const log = (m: string) => process.stderr.write(`[cluster-systemd-e2e] ${m}\n`);
const hosts = testHosts('sd', ['n1', 'n2']);
const { names, net, container, exec } = hosts;
const TAGS = ['hardening', 'wireguard', 'firewall'];
const UNITS = ['ssh', 'fail2ban', 'wg-quick@wg0', 'ufw'];

let dir: string;
let rendered: ClusterRendered;
let hostsFile: string;
const output: string[] = [];
const recording: Runner = async (c, o) => {
  const r = await run(c, o);
  output.push(r.stdout, r.stderr);
  return r;
};
const numbers: Record<string, number> = {};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Until systemd says the boot is over ("running", or "degraded" when some unit failed). */
async function booted(n: string): Promise<string> {
  const t0 = performance.now();
  for (;;) {
    const r = await exec(n, ['systemctl', 'is-system-running'], false);
    const state = r.stdout.trim();
    if (state === 'running' || state === 'degraded') return state;
    if (performance.now() - t0 > 90_000) throw new Error(`${container(n)} did not finish booting: ${state} ${r.stderr}`);
    await sleep(500);
  }
}

async function unitStates(n: string): Promise<Record<string, string>> {
  const active = (await exec(n, ['systemctl', 'is-active', ...UNITS], false)).stdout.trim().split('\n');
  const enabled = (await exec(n, ['systemctl', 'is-enabled', ...UNITS], false)).stdout.trim().split('\n');
  return Object.fromEntries(UNITS.map((u, i) => [u, `${active[i]}/${enabled[i]}`]));
}

before(
  async () => {
    if (skip) return;
    const image = await hostImage('wharf-test/cluster-node-systemd', 'Dockerfile.systemd', [], log);
    await execa('docker', ['network', 'create', net]);
    for (const n of names) {
      // as cluster.e2e.test.ts runs its hosts, but PID 1 is systemd: its own cgroup namespace, /run on tmpfs
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
        '--cgroupns',
        'private',
        '--tmpfs',
        '/run',
        '--tmpfs',
        '/run/lock',
        image,
      ]);
    }
    for (const n of names) log(`${n} booted: ${await booted(n)}`);
    const ips = await Promise.all(
      names.map(async (n) =>
        (await execa('docker', ['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, container(n)])).stdout.trim(),
      ),
    );
    dir = mkdtempSync(join(tmpdir(), 'wharf-cluster-sd-'));
    const spec = parse(templateText('api'));
    spec.cluster = { nodes: names.map((name, i) => ({ name, address: ips[i] })) };
    writeFileSync(join(dir, 'wharf.yaml'), stringify(spec));
    // wg_systemd keeps its default (true)
    hostsFile = hosts.writeInventory(join(dir, 'test-hosts.yml'), {});
    rendered = await clusterRender(join(dir, 'wharf.yaml'));
  },
  { timeout: 10 * 60_000 },
);

after(
  async () => {
    if (skip) return;
    log(`numbers: ${JSON.stringify(numbers)}`);
    await hosts.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  },
  { timeout: 120_000 },
);

const runOpts = () => ({ runner: recording, inventories: [hostsFile], tags: TAGS });

test(
  'under systemd: wg0, sshd, fail2ban and UFW run as enabled units, the jail reads the journal, a handshake each way; a second apply changes nothing',
  { skip, timeout: 10 * 60_000 },
  async () => {
    const first = await clusterApply(rendered, runOpts());
    numbers.firstApplySeconds = +(first.durationMs / 1000).toFixed(1);
    assert.ok(first.ok, `first apply failed:\n${first.tail.join('\n')}`);
    for (const n of names) {
      assert.deepEqual(await unitStates(n), Object.fromEntries(UNITS.map((u) => [u, 'active/enabled'])), n);
      // the userspace drop-in is what the unit runs with, and wg0 has the computed MTU
      assert.match(
        (await exec(n, ['systemctl', 'show', '-p', 'Environment', 'wg-quick@wg0'])).stdout,
        /WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go/,
      );
      assert.equal((await exec(n, ['cat', '/sys/class/net/wg0/mtu'])).stdout.trim(), String(rendered.plan.wireguard.mtu));
      const jail = (await exec(n, ['fail2ban-client', 'status', 'sshd'])).stdout;
      assert.match(jail, /Journal matches:\s+_SYSTEMD_UNIT=sshd\.service/, `${n} reads the journal: ${jail}`);
      assert.doesNotMatch(jail, /File list:/);
      const sshd = (await exec(n, ['sshd', '-T'])).stdout;
      for (const line of ['passwordauthentication no', 'kbdinteractiveauthentication no', 'permitrootlogin without-password'])
        assert.match(sshd, new RegExp(`^${line}$`, 'm'), `${n}: ${line}`);
      assert.match((await exec(n, ['ufw', 'status'])).stdout, /Status: active/);
    }
    await assertHandshakes(hosts, rendered);
    const second = await clusterApply(rendered, runOpts());
    numbers.secondApplySeconds = +(second.durationMs / 1000).toFixed(1);
    assert.ok(second.ok, second.tail.join('\n'));
    assert.deepEqual(
      second.hosts.map((h) => [h.host, h.changed]),
      names.map((n) => [n, 0]),
    );
  },
);

test('under systemd: failed SSH logins in the journal get the node that made them banned', { skip, timeout: 5 * 60_000 }, async () => {
  const [n1, n2] = rendered.plan.nodes;
  for (let i = 0; i < 5; i++) {
    const r = await exec(
      'n2',
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
        `nosuchuser@${n1!.publicAddress}`,
        'true',
      ],
      false,
    );
    assert.match(r.stderr, /Permission denied \(publickey\)/);
  }
  // what fail2ban read: sshd's own lines in the journal, not a file
  assert.match((await exec('n1', ['journalctl', '-u', 'ssh', '--no-pager', '-q', '-n', '20'])).stdout, /Invalid user nosuchuser from/);
  const { status, seconds } = await waitBanned(hosts, 'n1', n2!.publicAddress);
  numbers.banSeconds = seconds;
  assert.match(status, new RegExp(`Banned IP list:.*\\b${n2!.publicAddress.replaceAll('.', '\\.')}\\b`), status);
  await exec('n1', ['fail2ban-client', 'set', 'sshd', 'unbanip', n2!.publicAddress]);
});

test(
  'after a reboot, wg0 (with a fresh handshake), the jail and UFW are back with nothing applied again',
  { skip, timeout: 5 * 60_000 },
  async () => {
    const t0 = performance.now();
    await execa('docker', ['restart', '-t', '30', container('n1')]);
    const state = await booted('n1');
    log(
      `n1 rebooted: ${state}${state === 'running' ? '' : ` (failed: ${(await exec('n1', ['systemctl', '--failed', '--no-legend', '--plain'], false)).stdout.trim().replace(/\s+/g, ' ')})`}`,
    );
    numbers.rebootSeconds = +((performance.now() - t0) / 1000).toFixed(1);
    assert.deepEqual(await unitStates('n1'), Object.fromEntries(UNITS.map((u) => [u, 'active/enabled'])));
    assert.equal((await exec('n1', ['cat', '/sys/class/net/wg0/mtu'])).stdout.trim(), String(rendered.plan.wireguard.mtu));
    assert.match((await exec('n1', ['fail2ban-client', 'status', 'sshd'])).stdout, /Journal matches:/);
    assert.match((await exec('n1', ['ufw', 'status'])).stdout, /Status: active/);
    await assertHandshakes(hosts, rendered);
    // no private key reached any output the apply printed
    for (const n of names) {
      const key = readFileSync(join(rendered.secretsDir, wgKeyFile(n)), 'utf8').trim();
      assert.ok(!output.join('\n').includes(key), `${n}'s private key is in Ansible's output`);
    }
  },
);

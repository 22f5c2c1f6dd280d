// The CLI as a user runs it: the real bin, real files, exit codes, and no secret
// value anywhere in its output or in what it writes outside .wharf/secrets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { execa } from 'execa';
import { repoRoot } from '../support/templates.js';
import { load } from '../../src/ops/prepare.js';
import { leaks, secretInventory } from '../support/secret-values.js';

const bin = join(repoRoot, 'bin', 'wharf.js');
const wharf = (cwd: string, ...args: string[]) => execa(process.execPath, [bin, ...args], { cwd, reject: false, env: { NO_COLOR: '1' } });

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

test('init, check, render, secrets: files written, secrets generated, never printed or rendered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-cli-'));
  try {
    const outputs: string[] = [];
    for (const args of [
      ['init', '--template', 'api'],
      ['check'],
      ['check', '--format', 'json'],
      ['render'],
      ['render'],
      ['secrets'],
      ['schema'],
    ]) {
      const r = await wharf(dir, ...args);
      assert.equal(r.exitCode, 0, `wharf ${args.join(' ')}: ${r.stderr}`);
      outputs.push(r.stdout, r.stderr);
    }
    const secretsDir = join(dir, '.wharf', 'secrets');
    assert.equal(statSync(secretsDir).mode & 0o777, 0o700);
    // every secret of every kind (test/unit/secret-leak.tools.test.ts goes further: command logs, more templates)
    const { plan } = await load(join(dir, 'wharf.yaml'));
    const inv = secretInventory(plan, secretsDir);
    const random = inv.values.filter((v) => v.kind === 'random').map((v) => v.value);
    assert.ok(random.length >= 5, 'db, cache, grafana, edge and restic passwords are generated');
    assert.equal(new Set(random).size, random.length, 'every secret is distinct');
    const rendered = walk(join(dir, '.wharf', 'compose')).map((p) => ({ name: p, text: readFileSync(p, 'utf8') }));
    assert.ok(rendered.length >= 1);
    assert.deepEqual(leaks(inv, [...outputs.map((o, i) => ({ name: `output ${i}`, text: o })), ...rendered]), []);
    // The second render changed nothing.
    assert.match(outputs[8] ?? '', /unchanged/);
    assert.doesNotMatch(outputs[8] ?? '', /written/);
    const compose = readFileSync(join(dir, '.wharf', 'compose', 'compose.yaml'), 'utf8');
    for (const weak of ['apppassword', 'admin:admin', 'GF_SECURITY_ADMIN_PASSWORD:'])
      assert.ok(!compose.includes(weak), `default credential ${weak} in compose.yaml`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('invalid spec: every problem with path, line and hint, exit 2, nothing written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-cli-'));
  try {
    writeFileSync(
      join(dir, 'wharf.yaml'),
      [
        'name: Bad_Name',
        'domain: shop.localhost',
        'services:',
        '  api:',
        '    image: example/api:1.0',
        '    port: 70000',
        '    replicas: 3',
        '    uses: [nodb]',
        '    helth: {}',
        '',
      ].join('\n'),
    );
    for (const cmd of ['render', 'check']) {
      const r = await wharf(dir, cmd);
      assert.equal(r.exitCode, 2, `${cmd} exit code`);
      const text = r.stdout + r.stderr;
      assert.match(text, /wharf\.yaml:1:\d+.*name/);
      assert.match(text, /wharf\.yaml:6:\d+.*services\.api\.port/);
      assert.match(text, /helth.*health/s, 'unknown key gets a did-you-mean hint');
      assert.ok(!existsSync(join(dir, '.wharf')), `${cmd} wrote files for an invalid spec`);
    }
    // Cross-field rules run once the structure is valid, and point at the line too.
    writeFileSync(
      join(dir, 'wharf.yaml'),
      readFileSync(join(dir, 'wharf.yaml'), 'utf8').replace('Bad_Name', 'shop').replace('70000', '3000').replace('    helth: {}\n', ''),
    );
    const cross = await wharf(dir, 'check');
    assert.equal(cross.exitCode, 2);
    assert.match(cross.stdout + cross.stderr, /services\.api\.uses.*nodb/);
    assert.ok(!existsSync(join(dir, '.wharf')));
    writeFileSync(
      join(dir, 'wharf.yaml'),
      readFileSync(join(dir, 'wharf.yaml'), 'utf8').replace('shop', 'Bad_Name').replace('3000', '70000'),
    );
    const json = await wharf(dir, 'check', '--format', 'json');
    const parsed = JSON.parse(json.stdout) as { ok: boolean; issues: Array<{ path: string; line?: number }> };
    assert.equal(parsed.ok, false);
    assert.ok(parsed.issues.some((i) => i.path === 'services.api.port' && i.line === 6));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed render leaves the previous output untouched', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-cli-'));
  try {
    assert.equal((await wharf(dir, 'init', '--template', 'lab')).exitCode, 0);
    assert.equal((await wharf(dir, 'render')).exitCode, 0);
    const before = readFileSync(join(dir, '.wharf', 'compose', 'compose.yaml'), 'utf8');
    writeFileSync(join(dir, 'wharf.yaml'), readFileSync(join(dir, 'wharf.yaml'), 'utf8').replace('name: lab', 'name: 9lab'));
    const r = await wharf(dir, 'render');
    assert.equal(r.exitCode, 2);
    assert.equal(readFileSync(join(dir, '.wharf', 'compose', 'compose.yaml'), 'utf8'), before);
    // Missing user secret file: an input error before anything is replaced.
    writeFileSync(
      join(dir, 'wharf.yaml'),
      `${readFileSync(join(dir, 'wharf.yaml'), 'utf8').replace('name: 9lab', 'name: lab')}\nsecrets:\n  token:\n    file: ./missing-token\n`,
    );
    const r2 = await wharf(dir, 'render');
    assert.equal(r2.exitCode, 2, r2.stderr);
    assert.match(r2.stderr, /secrets\.token\.file/);
    assert.equal(readFileSync(join(dir, '.wharf', 'compose', 'compose.yaml'), 'utf8'), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('init refuses to overwrite and names unknown templates', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-cli-'));
  try {
    assert.equal((await wharf(dir, 'init', '--template', 'lab')).exitCode, 0);
    const again = await wharf(dir, 'init', '--template', 'lab');
    assert.equal(again.exitCode, 2);
    assert.match(again.stderr, /already exists.*--force/);
    const unknown = await wharf(dir, 'init', '--template', 'nope', '--force');
    assert.equal(unknown.exitCode, 2);
    assert.match(unknown.stderr, /unknown template "nope".*api, gitea, haproxy-mysql, k3s, lab, miniflux/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('wharf.config.ts with defineStack is accepted like wharf.yaml', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-cli-'));
  try {
    writeFileSync(
      join(dir, 'wharf.config.ts'),
      `import { defineStack } from ${JSON.stringify(join(repoRoot, 'src/spec/define.ts'))};
export default defineStack({ name: 'tsdemo', domain: 'demo.localhost', services: { web: { image: 'traefik/whoami:v1.10.3', port: 80, health: false, routes: [{ host: 'web.demo.localhost' }] } } });
`,
    );
    const r = await wharf(dir, 'render');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(readFileSync(join(dir, '.wharf', 'compose', 'compose.yaml'), 'utf8'), /traefik\/whoami:v1\.10\.3/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the third-party starters: init, check (valid, probe stated), render with no secret or URL in any file', async () => {
  for (const [template, probe] of [
    ['miniflux', /miniflux\s+│ in the container: \/usr\/bin\/miniflux -healthcheck auto/],
    ['gitea', /gitea\s+│ in the container: HTTP GET \/api\/healthz/],
  ] as const) {
    const dir = mkdtempSync(join(tmpdir(), `wharf-cli-${template}-`));
    try {
      assert.equal((await wharf(dir, 'init', '--template', template)).exitCode, 0);
      const check = await wharf(dir, 'check', '--strict');
      assert.equal(check.exitCode, 0, check.stdout + check.stderr);
      assert.match(check.stdout, probe);
      const json = JSON.parse((await wharf(dir, 'check', '--format', 'json')).stdout) as {
        ok: boolean;
        health: Array<{ service: string; probe: string }>;
      };
      assert.deepEqual(
        json.health.map((h) => h.service),
        [template],
      );
      assert.match(`${template}  │ ${json.health[0]!.probe}`, probe);
      const render = await wharf(dir, 'render');
      assert.equal(render.exitCode, 0, render.stderr);
      const { plan } = await load(join(dir, 'wharf.yaml'));
      const inv = secretInventory(plan, join(dir, '.wharf', 'secrets'));
      assert.ok(inv.values.some((v) => v.kind === 'connection-url'));
      const rendered = walk(join(dir, '.wharf', 'compose')).map((p) => ({ name: p, text: readFileSync(p, 'utf8') }));
      assert.deepEqual(
        leaks(inv, [...rendered, { name: 'check', text: check.stdout }, { name: 'render', text: render.stdout + render.stderr }]),
        [],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('the swarm target from the CLI: check --target swarm names SW005 with its line, up refuses it before anything runs, a bad --host is exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-cli-swarm-'));
  try {
    assert.equal((await wharf(dir, 'init', '--template', 'api')).exitCode, 0);
    const compose = await wharf(dir, 'check');
    assert.equal(compose.exitCode, 0, compose.stdout);
    const swarm = await wharf(dir, 'check', '--target', 'swarm', '--format', 'json');
    assert.equal(swarm.exitCode, 1, swarm.stdout);
    const sw = (JSON.parse(swarm.stdout) as { issues: Array<{ rule: string; path: string; line?: number; hint?: string }> }).issues.filter(
      (i) => i.rule === 'SW005',
    );
    assert.equal(sw.length, 1);
    assert.equal(sw[0]!.path, 'services.api.build');
    assert.ok(sw[0]!.line && sw[0]!.line > 1, 'placed at its line in wharf.yaml');
    const before = readdirSync(dir).sort();
    const up = await wharf(dir, 'up', '--target', 'swarm', '-H', 'tcp://127.0.0.1:1');
    assert.equal(up.exitCode, 2, up.stderr);
    assert.match(up.stderr, /services\.api\.build/);
    assert.deepEqual(readdirSync(dir).sort(), before, 'nothing rendered or started');
    for (const bad of ['http://x:2375', 'tcp://a;b', 'ssh://-oProxyCommand=x']) {
      const r = await wharf(dir, 'status', '--target', 'swarm', '--host', bad);
      assert.equal(r.exitCode, 2, `${bad}: ${r.stderr}`);
      assert.match(r.stderr, /not a Docker engine address/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the real binary: refusals exit 2 with one plain line naming what was wrong, nothing written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-cli-refuse-'));
  try {
    assert.equal((await wharf(dir, 'init', '--template', 'api')).exitCode, 0);
    const before = readdirSync(dir).sort();
    for (const [args, message] of [
      [['rollout', 'nosuch'], /^error: no service "nosuch" in shop \(services: .*\bapi\b.*\)$/m],
      [['restore', 'nosuch', '--yes'], /^error: no database, cache or volume "nosuch" is backed up \(backups: db\)$/m],
      [['up', '--target', 'k8s'], /^error: wharf up does not support the k8s target \(--target k8s\); it supports compose, swarm$/m],
      [['logs', '--target', 'nope'], /argument 'nope' is invalid\. Allowed choices are compose, swarm, k8s/],
    ] as const) {
      const r = await wharf(dir, ...args);
      assert.equal(r.exitCode, 2, `wharf ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\x1b\[/, 'no colour when not a terminal');
      assert.deepEqual(readdirSync(dir).sort(), before, `wharf ${args.join(' ')} wrote nothing`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a reader that goes away (wharf schema | head -1): wharf stops quietly, exit 0, no EPIPE stack trace', async () => {
  // the read end is closed before wharf writes anything, so its first write meets EPIPE every time
  const child = spawn(process.execPath, [bin, 'schema'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = await once(child, 'close');
  assert.equal(stderr, '');
  assert.equal(code, 0);
});

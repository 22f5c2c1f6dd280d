// Hostile or wrong input, one bad override of a valid template at a time, through
// the real CLI: `check` and `render` both refuse it with the path of the value,
// exit 2, and leave the project directory byte-identical (no .wharf/, no secrets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { main } from '../../src/cli/main.js';
import type { Out } from '../../src/cli/output.js';
import { parseCount, parseSeconds } from '../../src/cli/parse-options.js';
import { dirSnapshot, tempProject } from '../support/project.js';
import { templateText } from '../support/templates.js';

interface Case {
  id: string;
  template?: string;
  change?: (d: Record<string, any>) => void;
  /** replaces the whole spec file (YAML text, or a wharf.config.ts) */
  file?: { name: string; text: string };
  path: string;
  message: RegExp;
  env?: Record<string, string>;
}

const imageSvc = (image: string) => (d: Record<string, any>) => {
  delete d.services.api.build;
  d.services.api.image = image;
};
const pathChars = ['\n', '\r', '\t', ' ', '"', "'", '\\', ';', '$', '`', '\u0000', '\u007f'];

const cases: Case[] = [
  // 1. URL paths
  ...pathChars.map((c): Case => ({
    id: `health.path with ${JSON.stringify(c)}`,
    change: (d) => {
      d.services.api.health.path = `/health${c}x`;
    },
    path: 'services.api.health.path',
    message: /URL path/,
  })),
  {
    id: 'health.path header injection',
    change: (d) => {
      d.services.api.health.path = '/health\nHost: evil';
    },
    path: 'services.api.health.path',
    message: /URL path/,
  },
  {
    id: 'health.path relative',
    change: (d) => {
      d.services.api.health.path = 'health';
    },
    path: 'services.api.health.path',
    message: /URL path/,
  },
  {
    id: 'health.path network-path //',
    change: (d) => {
      d.services.api.health.path = '//evil.example/x';
    },
    path: 'services.api.health.path',
    message: /URL path/,
  },
  {
    id: 'health.path bad escape',
    change: (d) => {
      d.services.api.health.path = '/a%zz';
    },
    path: 'services.api.health.path',
    message: /URL path/,
  },
  {
    id: 'metrics.path newline',
    change: (d) => {
      d.services.api.metrics.path = '/metrics\nx';
    },
    path: 'services.api.metrics.path',
    message: /URL path/,
  },
  {
    id: 'metrics.path semicolon',
    change: (d) => {
      d.services.api.metrics.path = '/metrics;reboot';
    },
    path: 'services.api.metrics.path',
    message: /URL path/,
  },
  {
    id: 'route path with backtick',
    change: (d) => {
      d.services.api.routes[0].path = '/api`) || Host(`evil';
    },
    path: 'services.api.routes[0].path',
    message: /URL path/,
  },
  {
    id: 'route path with a query',
    change: (d) => {
      d.services.api.routes[0].path = '/api?x=1';
    },
    path: 'services.api.routes[0].path',
    message: /no query/,
  },
  {
    id: 'route path with space',
    change: (d) => {
      d.services.api.routes[0].path = '/a b';
    },
    path: 'services.api.routes[0].path',
    message: /URL path/,
  },
  // 2. CIDRs
  {
    id: 'allow 999.999.999.999/99',
    change: (d) => {
      d.services.api.routes[0].allow = ['999.999.999.999/99'];
    },
    path: 'services.api.routes[0].allow[0]',
    message: /CIDR/,
  },
  {
    id: 'allow IPv4 prefix 33',
    change: (d) => {
      d.services.api.routes[0].allow = ['10.0.0.0/8', '10.0.0.0/33'];
    },
    path: 'services.api.routes[0].allow[1]',
    message: /CIDR/,
  },
  {
    id: 'allow IPv6 prefix 129',
    change: (d) => {
      d.services.api.routes[0].allow = ['fd00::/129'];
    },
    path: 'services.api.routes[0].allow[0]',
    message: /CIDR/,
  },
  {
    id: 'allow IPv6 garbage',
    change: (d) => {
      d.services.api.routes[0].allow = [':::::/64'];
    },
    path: 'services.api.routes[0].allow[0]',
    message: /CIDR/,
  },
  {
    id: 'allow without prefix',
    change: (d) => {
      d.services.api.routes[0].allow = ['10.0.0.1'];
    },
    path: 'services.api.routes[0].allow[0]',
    message: /CIDR/,
  },
  {
    id: 'allow with newline',
    change: (d) => {
      d.services.api.routes[0].allow = ['10.0.0.0/8\n0.0.0.0/0'];
    },
    path: 'services.api.routes[0].allow[0]',
    message: /CIDR/,
  },
  {
    id: 'grafana allow bad',
    change: (d) => {
      d.monitoring.grafana = { allow: ['300.1.1.1/8'] };
    },
    path: 'monitoring.grafana.allow[0]',
    message: /CIDR/,
  },
  {
    id: 'dashboard allow bad',
    change: (d) => {
      d.proxy.dashboard = { allow: ['1.2.3.4/-1'] };
    },
    path: 'proxy.dashboard.allow[0]',
    message: /CIDR/,
  },
  // 3. proxy.bind
  {
    id: 'bind with port',
    change: (d) => {
      d.proxy.bind = '0.0.0.0:80';
    },
    path: 'proxy.bind',
    message: /IP address/,
  },
  {
    id: 'bind with newline',
    change: (d) => {
      d.proxy.bind = '127.0.0.1\n';
    },
    path: 'proxy.bind',
    message: /IP address/,
  },
  {
    id: 'bind host name',
    change: (d) => {
      d.proxy.bind = 'localhost';
    },
    path: 'proxy.bind',
    message: /IP address/,
  },
  {
    id: 'bind bad IPv4',
    change: (d) => {
      d.proxy.bind = '256.0.0.1';
    },
    path: 'proxy.bind',
    message: /IP address/,
  },
  // 4. image references
  { id: 'image with space', change: imageSvc('nginx latest'), path: 'services.api.image', message: /image reference/ },
  { id: 'image with semicolon', change: imageSvc('nginx:1;reboot'), path: 'services.api.image', message: /image reference/ },
  { id: 'image with newline', change: imageSvc('nginx:1\nprivileged: true'), path: 'services.api.image', message: /image reference/ },
  { id: 'image uppercase', change: imageSvc('Nginx:1.27'), path: 'services.api.image', message: /lowercase/ },
  { id: 'image short digest', change: imageSvc('nginx@sha256:abc'), path: 'services.api.image', message: /image reference/ },
  {
    id: 'images map value',
    change: (d) => {
      d.images = { traefik: 'traefik:v3.1 --api.insecure' };
    },
    path: 'images.traefik',
    message: /image reference/,
  },
  {
    id: 'images map uppercase',
    change: (d) => {
      d.images = { postgres: 'example.com/Team/postgres:16' };
    },
    path: 'images.postgres',
    message: /lowercase/,
  },
  // 5. memory
  ...['0', '0M', '0.0G', '1k', '3M'].map((m): Case => ({
    id: `memory ${m}`,
    change: (d) => {
      d.services.api.resources.memory = m;
    },
    path: 'services.api.resources.memory',
    message: /at least 4M/,
  })),
  {
    id: 'database memory 0',
    change: (d) => {
      d.databases.db.resources = { memory: '0' };
    },
    path: 'databases.db.resources.memory',
    message: /at least 4M/,
  },
  // 6. retention
  {
    id: 'retention {}',
    change: (d) => {
      d.databases.db.backup.retention = {};
    },
    path: 'databases.db.backup.retention',
    message: /keeps nothing/,
  },
  {
    id: 'retention all zero',
    change: (d) => {
      d.databases.db.backup.retention = { keepDaily: 0, keepWeekly: 0 };
    },
    path: 'databases.db.backup.retention',
    message: /every keep-\* is 0/,
  },
  // 7. alert overrides
  {
    id: 'override unknown alert',
    change: (d) => {
      d.monitoring.alerts = { overrides: { TargetDwn: { disabled: true } } };
    },
    path: 'monitoring.alerts.overrides.TargetDwn',
    message: /no alert named "TargetDwn"/,
  },
  {
    id: 'override alert of a missing engine',
    change: (d) => {
      d.monitoring.alerts = { overrides: { MySQLDown: { for: '5m' } } };
    },
    path: 'monitoring.alerts.overrides.MySQLDown',
    message: /no alert named/,
  },
  // 8. encrypt
  {
    id: 'encrypt false',
    change: (d) => {
      d.databases.db.backup.encrypt = false;
    },
    path: 'databases.db.backup.encrypt',
    message: /restic encrypts/,
  },
  // 9. platform hosts
  {
    id: 'route on the Grafana host',
    change: (d) => {
      d.services.api.routes[0].host = 'grafana.shop.localhost';
    },
    path: 'services.api.routes[0].host',
    message: /grafana.*monitoring\.grafana\.host/,
  },
  {
    id: 'route on the dashboard host',
    change: (d) => {
      d.services.api.routes.push({ host: 'traefik.shop.localhost', path: '/x' });
    },
    path: 'services.api.routes[1].host',
    message: /traefik.*proxy\.dashboard\.host/,
  },
  {
    id: 'route on a moved Grafana host',
    change: (d) => {
      d.monitoring.grafana = { host: 'ops.shop.localhost' };
      d.services.api.routes[0].host = 'ops.shop.localhost';
    },
    path: 'services.api.routes[0].host',
    message: /grafana/,
  },
  {
    id: 'route on the Portainer host',
    template: 'lab',
    change: (d) => {
      d.services.whoami.routes[0].host = 'portainer.lab.localhost';
    },
    path: 'services.whoami.routes[0].host',
    message: /portainer.*extras\.portainer\.host/,
  },
  // 10. paths leaving the project
  {
    id: 'local backup to /etc',
    change: (d) => {
      d.databases.db.backup.destination = { type: 'local', path: '/etc' };
    },
    path: 'databases.db.backup.destination.path',
    message: /inside the project/,
  },
  {
    id: 'local backup to ../..',
    change: (d) => {
      d.databases.db.backup.destination = { type: 'local', path: 'backups/../../..' };
    },
    path: 'databases.db.backup.destination.path',
    message: /inside the project/,
  },
  {
    id: 'build context /',
    change: (d) => {
      d.services.api.build.context = '/';
    },
    path: 'services.api.build.context',
    message: /filesystem root/,
  },
  {
    id: 'build context ../..',
    change: (d) => {
      d.services.api.build.context = '../../../../../../../../..';
    },
    path: 'services.api.build.context',
    message: /filesystem root/,
  },
  {
    id: 'build dockerfile escaping',
    change: (d) => {
      d.services.api.build.dockerfile = '../../../Dockerfile';
    },
    path: 'services.api.build.dockerfile',
    message: /outside the build context/,
  },
  {
    id: 'build dockerfile absolute',
    change: (d) => {
      d.services.api.build.dockerfile = '/etc/passwd';
    },
    path: 'services.api.build.dockerfile',
    message: /outside the build context/,
  },
  // 11. platform volumes
  {
    id: 'volume named db-data',
    change: (d) => {
      d.services.api.volumes = [{ name: 'db-data', target: '/data' }];
    },
    path: 'services.api.volumes[0].name',
    message: /platform's volume for db/,
  },
  {
    id: 'volume named prometheus-data',
    change: (d) => {
      d.services.api.volumes = [{ name: 'prometheus-data', target: '/data' }];
    },
    path: 'services.api.volumes[0].name',
    message: /prometheus/,
  },
  // 12. YAML itself
  {
    id: 'YAML syntax error',
    file: { name: 'wharf.yaml', text: 'name: shop\ndomain: shop.localhost\nservices:\n  api: [unclosed\n' },
    path: '',
    message: /wharf\.yaml:\d+:\d+: YAML:/,
  },
  {
    id: 'duplicate key',
    file: { name: 'wharf.yaml', text: `${templateText('api')}\nname: other\n` },
    path: 'name',
    message: /duplicate key "name"/,
  },
  {
    id: 'nesting 100 000 deep',
    file: { name: 'wharf.yaml', text: `name: ${'['.repeat(100_000)}\n` },
    path: '',
    message: /YAML: .*nested too deeply/,
  },
  {
    id: 'spec over the size limit',
    file: { name: 'wharf.yaml', text: `${templateText('api')}\n${'#'.repeat(1024 * 1024)}\n` },
    path: '',
    message: /MiB limit/,
  },
  // 13. wharf.config.ts
  {
    id: 'config calls process.exit(0)',
    file: { name: 'wharf.config.ts', text: 'process.exit(0);\nexport default {};\n' },
    path: '',
    message: /wharf\.config\.ts ended with exit code 0 before exporting/,
  },
  {
    id: 'config throws a string',
    file: { name: 'wharf.config.ts', text: 'throw "nope";\n' },
    path: '',
    message: /wharf\.config\.ts threw a non-Error value: 'nope'/,
  },
  {
    id: 'config throws an object',
    file: { name: 'wharf.config.ts', text: 'throw { code: 42 };\n' },
    path: '',
    message: /non-Error value: \{ code: 42 \}/,
  },
  {
    id: 'config syntax error',
    file: { name: 'wharf.config.ts', text: 'const x = ;\nexport default {};\n' },
    path: '',
    message: /wharf\.config\.ts:1:\d+/,
  },
  {
    id: 'config without default export',
    file: { name: 'wharf.config.ts', text: 'export const stack = { name: "x" };\n' },
    path: '',
    message: /wharf\.config\.ts has no default export.*export default defineStack/s,
  },
  {
    id: 'config loops forever',
    file: { name: 'wharf.config.ts', text: 'while (true) {}\n' },
    path: '',
    message: /did not finish within 1\.5s/,
    env: { WHARF_CONFIG_TIMEOUT_MS: '1500' },
  },
];

function recorder(): Out & { text: () => string } {
  const lines: string[] = [];
  return {
    log: (l = '') => {
      lines.push(l);
    },
    error: (l) => {
      lines.push(l);
    },
    text: () => lines.join('\n'),
  };
}

async function run(args: string[]): Promise<{ code: number; text: string }> {
  const out = recorder();
  process.exitCode = undefined;
  const code = await main(['node', 'wharf', ...args], out);
  process.exitCode = undefined;
  return { code, text: out.text() };
}

function specOf(c: Case): { name: string; text: string } {
  if (c.file) return c.file;
  const d = parse(templateText(c.template ?? 'api')) as Record<string, any>;
  c.change?.(d);
  return { name: 'wharf.yaml', text: stringify(d) };
}

for (const c of cases) {
  test(`hostile input refused by check and render: ${c.id}`, async () => {
    const { name, text } = specOf(c);
    const p = tempProject('', 'wharf-hostile-');
    const saved = Object.fromEntries(Object.keys(c.env ?? {}).map((k) => [k, process.env[k]]));
    Object.assign(process.env, c.env);
    try {
      if (name !== 'wharf.yaml') rmSync(p.spec);
      const spec = join(p.dir, name);
      writeFileSync(spec, text);
      const before = dirSnapshot(p.dir);

      const check = await run(['check', '--format', 'json', '--file', spec]);
      assert.equal(check.code, 2, `check exit code; output:\n${check.text}`);
      const report = JSON.parse(check.text) as {
        ok: boolean;
        issues: Array<{ path: string; message: string; hint?: string; file?: string; line?: number; column?: number; severity: string }>;
      };
      assert.equal(report.ok, false);
      const hit = report.issues.find((i) => i.path === c.path && i.severity === 'error');
      assert.ok(hit, `no error at path "${c.path}"; issues: ${JSON.stringify(report.issues)}`);
      const shown = `${hit.file ?? ''}${hit.line ? `:${hit.line}:${hit.column}` : ''}: ${hit.message}${hit.hint ? ` (hint: ${hit.hint})` : ''}`;
      assert.match(shown, c.message);

      const render = await run(['render', '--file', spec]);
      assert.equal(render.code, 2, `render exit code; output:\n${render.text}`);
      const line = render.text.split('\n').find((l) => l.startsWith('error: ') && l.includes(c.path ? `${c.path}: ` : ''));
      assert.ok(line, `render did not name ${c.path}:\n${render.text}`);
      assert.match(render.text, c.message);

      assert.deepEqual(dirSnapshot(p.dir), before, 'the project directory changed');
      assert.ok(!existsSync(join(p.dir, '.wharf')), '.wharf/ was created');
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      p.cleanup();
    }
  });
}

test('the legitimate neighbours of the hostile values stay valid', async () => {
  const d = parse(templateText('api')) as Record<string, any>;
  d.services.api.health.path = '/health?a=1&b=2';
  d.services.api.metrics.path = '/-/metrics~v1/%41';
  d.services.api.routes[0].path = '/api/v1';
  d.services.api.routes[0].allow = ['10.0.0.0/8', '192.168.1.1/32', 'fd00::/8', '::/0', '2001:db8::1/128'];
  d.proxy.bind = '::1';
  d.images = {
    traefik: 'traefik:v3.1.2',
    postgres: 'registry.example.com:5000/team/postgres:16@sha256:' + 'a'.repeat(64),
    redis: '[::1]:5000/redis:7',
  };
  d.services.api.resources.memory = '4M';
  d.databases.db.backup.retention = { keepLast: 1 };
  d.databases.db.backup.encrypt = true;
  d.databases.db.backup.destination = { type: 'local', path: './backups/db' };
  d.services.api.build.dockerfile = '../api/Dockerfile';
  d.services.api.volumes = [{ name: 'uploads', target: '/data' }];
  d.monitoring.alerts = { overrides: { TargetDown: { for: '5m' } } };
  const p = tempProject(stringify(d), 'wharf-hostile-');
  try {
    const r = await run(['check', '--format', 'json', '--file', p.spec]);
    const report = JSON.parse(r.text) as { issues: Array<{ rule: string; path: string; severity: string }> };
    assert.deepEqual(
      report.issues.filter((i) => i.rule === 'spec' && i.severity === 'error'),
      [],
    );
    assert.notEqual(r.code, 2);
  } finally {
    p.cleanup();
  }
});

test('durations and counts on the command line', () => {
  for (const [v, s] of [
    ['5m', 300],
    ['90s', 90],
    ['90', 90],
    ['1.5', 1.5],
    ['500ms', 0.5],
    ['1h', 3600],
  ] as const)
    assert.equal(parseSeconds(v), s, v);
  for (const v of ['', '5 minutes', '0', '-1', 'NaN', 'Infinity', '1e3', '5d', '0x10'])
    assert.throws(() => parseSeconds(v), /is not a duration/, v);
  assert.equal(parseCount(100)('42'), 42);
  for (const v of ['0', '101', '2.5', '-1', 'ten', '']) assert.throws(() => parseCount(100)(v), /whole number from 1 to 100/, v);
});

test('bad numeric options are usage errors (exit 2) before anything runs', async () => {
  const p = tempProject(templateText('api'), 'wharf-hostile-');
  try {
    const before = dirSnapshot(p.dir);
    for (const args of [
      ['up', '--timeout', '5 minutes'],
      ['up', '--timeout', '0'],
      ['up', '--timeout', 'NaN'],
      ['up', '--timeout', '-5'],
      ['loadtest', '--duration', 'soon'],
      ['loadtest', '--connections', '0'],
      ['loadtest', '--connections', '2.5'],
      ['loadtest', '-c', '1e9'],
    ]) {
      const r = await run([...args, '--file', p.spec]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.text}`);
      assert.match(r.text, /is not a duration|whole number/, args.join(' '));
    }
    assert.deepEqual(dirSnapshot(p.dir), before);
  } finally {
    p.cleanup();
  }
});

test('a 500 KB spec parses; a 6 MB one is refused by the size limit, quickly', async () => {
  const { parseSpecText } = await import('../../src/spec/load.js');
  const env = (n: number) => Array.from({ length: n }, (_, i) => `      K${i}: "v${i}"`).join('\n');
  const at = (lines: string) => templateText('api').replace('    uses: [db, cache]\n', `    uses: [db, cache]\n    env:\n${lines}\n`);
  const medium = at(env(23_000));
  assert.ok(medium.length > 500_000 && medium.length < 1024 * 1024, `${medium.length} bytes`);
  const ok = parseSpecText(medium);
  assert.deepEqual(
    ok.issues.filter((i) => i.severity === 'error'),
    [],
  );
  assert.equal(Object.keys(ok.stack!.services.api!.env).length, 23_000);
  const big = at(env(280_000));
  assert.ok(big.length > 6_000_000);
  const refused = parseSpecText(big);
  assert.equal(refused.issues.length, 1);
  assert.match(refused.issues[0]!.message, /MiB limit/);
  // Many issues used to be quadratic too (each one scanned its mapping for its line).
  const unknown = templateText('api').replace(
    '    uses: [db, cache]\n',
    `    uses: [db, cache]\n${Array.from({ length: 20_000 }, (_, i) => `    x${i}: 1`).join('\n')}\n`,
  );
  const many = parseSpecText(unknown);
  assert.equal(many.issues.length, 20_000);
  const lastLine = unknown.split('\n').indexOf('    x19999: 1') + 1;
  assert.equal(many.issues.at(-1)!.line, lastLine);
});

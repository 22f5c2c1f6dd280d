// wharf import compose through the real CLI and the real `docker compose config`: the mapping of
// every key, the account, secrets moved out of the spec, refusals byte-identical, and a result
// that passes `wharf check`, renders, and whose rendered Compose file Compose accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { assertChecksAndRenders, assertCoversEveryKey, composeConfig, importJson, wharf } from '../support/import-cli.js';
import { dirSnapshot } from '../support/project.js';
import { repoRoot } from '../support/templates.js';

const fixtures = join(repoRoot, 'test/fixtures/import');

/** A copy of a fixture in a temporary directory (imports write beside the Compose files). */
function copyOf(fixture: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-import-'));
  cpSync(join(fixtures, fixture), dir, { recursive: true });
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('a web app with PostgreSQL and Redis: override, include, extends, profile and .env read as Compose reads them', async () => {
  const p = copyOf('webapp');
  try {
    const config = await composeConfig(p.dir);
    const { account } = await importJson(['--dir', p.dir]);
    const spec = parse(readFileSync(join(p.dir, 'wharf.yaml'), 'utf8')) as Record<string, any>;
    assert.equal(spec.name, 'shop');
    assert.deepEqual(Object.keys(spec.services).sort(), ['web', 'worker']);
    const web = spec.services.web;
    assert.equal(web.image, 'ghcr.io/example/shop-web:1.4.2', 'interpolated with its default');
    assert.equal(web.port, 3000);
    assert.deepEqual(web.routes, [{ host: 'web.shop.localhost' }]);
    assert.equal(web.replicas, 3, 'the override file wins');
    assert.deepEqual(web.resources, { cpus: 0.5, memory: '256M' });
    assert.equal(web.user, '1000:1000');
    assert.deepEqual(web.health, {
      command: ['wget', '-qO-', 'http://127.0.0.1:3000/health'],
      interval: '10s',
      timeout: '2s',
      startPeriod: '1m30s',
      retries: 3,
    });
    assert.deepEqual(web.volumes, [{ name: 'uploads', target: '/app/uploads' }]);
    assert.deepEqual(web.uses.sort(), ['cache', 'db']);
    assert.equal(web.env.GREETING, 'say "hi" $HOME', "Compose's $$ is a literal $");
    assert.equal(web.env.LOG_LEVEL, 'debug');
    assert.equal(web.env.PUBLIC_URL, 'https://shop.example.com', 'env_file read');
    // no entrypoint: secret values are read from files named *_FILE
    assert.deepEqual(web.env.DATABASE_URL_FILE, { secret: 'db.url' });
    assert.deepEqual(web.env.SESSION_SECRET_FILE, { secret: 'web-session-secret' });
    assert.deepEqual(web.env.API_TOKEN_FILE, { secret: 'web-api-token' });
    assert.deepEqual(web.secrets.sort(), ['stripe-key', 'web-api-token', 'web-session-secret']);
    const worker = spec.services.worker;
    assert.deepEqual(worker.command, ['/usr/bin/tini', '--', 'node', 'worker.js'], 'extends + entrypoint folded into the full command');
    assert.deepEqual(worker.env.DATABASE_URL, { secret: 'db.url' }, 'with a full command the value itself is exported');
    assert.equal(worker.replicas, 1);
    assert.deepEqual(spec.databases.db, {
      engine: 'postgres',
      version: '16',
      user: 'shop',
      database: 'shop',
      volume: 'pgdata',
      backup: { schedule: '@daily' },
    });
    assert.deepEqual(spec.caches.cache, {
      engine: 'redis',
      version: '7',
      persistence: true,
      volume: 'redisdata',
      backup: { schedule: '@daily' },
    });
    assert.deepEqual(spec.secrets['stripe-key'], { file: 'stripe.key' });

    const text = readFileSync(join(p.dir, 'wharf.yaml'), 'utf8');
    for (const secret of ['Pg-pass-4f9a2c', 'sess-7Hq2xZ', 'Rd-pass-91kd', 'tok-Zx81aQ'])
      assert.ok(!text.includes(secret), `${secret} left in wharf.yaml`);
    const secretFile = (n: string) => readFileSync(join(p.dir, '.wharf', 'secrets', n), 'utf8');
    assert.equal(secretFile('db-password'), 'Pg-pass-4f9a2c');
    assert.equal(secretFile('cache-password'), 'Rd-pass-91kd');
    assert.equal(secretFile('web-session-secret'), 'sess-7Hq2xZ');

    const outcome = (path: string) => account.fields.find((f) => f.path === path)?.outcome;
    assert.equal(outcome('services.web.ports[0]'), 'changed');
    assert.equal(outcome('services.web.ports[1]'), 'dropped', '9229 is a second port');
    assert.equal(outcome('services.web.volumes[1]'), 'dropped', 'bind mount');
    assert.equal(outcome('services.web.cap_add[0]'), 'kept');
    assert.equal(outcome('services.web.labels.com.example.team'), 'kept');
    assert.deepEqual(web.capAdd, ['NET_BIND_SERVICE']);
    assert.deepEqual(web.labels, { 'com.example.team': 'shop' });
    assert.equal(outcome('services.web.configs[0]'), 'dropped');
    assert.equal(outcome('services.db.ports'), 'dropped');
    assert.equal(outcome('services.db.environment.POSTGRES_PASSWORD'), 'changed');
    assert.equal(outcome('services.web.depends_on.db'), 'changed');
    assert.equal(outcome('services.web.restart'), 'changed');
    assert.equal(outcome('services.worker.profiles'), 'changed');
    assert.equal(outcome('volumes.pgdata'), 'kept', 'the same Docker volume shop_pgdata');
    assertCoversEveryKey(config, account);
    assert.deepEqual(account.differences, [], 'rendered again, the spec matches Compose wherever the account says kept');
    await assertChecksAndRenders(p.dir);
    const rendered = parse(readFileSync(join(p.dir, '.wharf/compose/compose.yaml'), 'utf8')) as Record<string, any>;
    assert.equal(rendered.name ?? 'shop', 'shop');
    assert.ok(
      'pgdata' in rendered.volumes && 'uploads' in rendered.volumes,
      'rendered under the same keys: Docker finds shop_pgdata, shop_uploads',
    );
    assert.ok(rendered.services.db.volumes.some((v: any) => (v.source ?? String(v).split(':')[0]) === 'pgdata'));
  } finally {
    p.cleanup();
  }
});

for (const [fixture, file, proxy, differences] of [
  ['seed-002', 'docker-compose.yml', 'traefik', ['redis command']],
  ['seed-003', 'compose.yaml', 'haproxy', []],
] as const) {
  test(`${fixture}'s own compose file imports, passes check and renders`, async () => {
    const p = copyOf(fixture);
    try {
      const config = await composeConfig(p.dir);
      const { account } = await importJson(['--dir', p.dir, join(p.dir, file)]);
      const spec = parse(readFileSync(join(p.dir, 'wharf.yaml'), 'utf8')) as Record<string, any>;
      assert.equal(spec.proxy.kind, proxy, "the seed's reverse proxy becomes wharf's edge");
      for (const svc of Object.values(spec.services as Record<string, any>)) assert.equal(svc.routes.length, 1);
      assert.ok(!readFileSync(join(p.dir, 'wharf.yaml'), 'utf8').match(/apppassword|cloudpass|rootpass/));
      assertCoversEveryKey(config, account);
      // seed 002's Redis runs the image's default command; wharf's runs with its ACL file and limits
      assert.deepEqual(
        account.differences.map((d) => `${d.service} ${d.aspect}`),
        differences,
      );
      await assertChecksAndRenders(p.dir);
    } finally {
      p.cleanup();
    }
  });
}

test('an existing wharf.yaml is refused (exit 2, directory byte-identical); --force replaces it', async () => {
  const p = copyOf('webapp');
  try {
    writeFileSync(join(p.dir, 'wharf.yaml'), 'name: mine\n');
    const before = dirSnapshot(p.dir);
    const r = await wharf(['import', 'compose', '--dir', p.dir]);
    assert.equal(r.code, 2, r.text);
    assert.match(r.text, /wharf\.yaml.*already exists|already exists/);
    assert.deepEqual(dirSnapshot(p.dir), before);
    const forced = await wharf(['import', 'compose', '--dir', p.dir, '--force']);
    assert.equal(forced.code, 0, forced.text);
    assert.match(forced.text, /rendered again and compared with Compose: no difference beyond the account/);
    assert.match(readFileSync(join(p.dir, 'wharf.yaml'), 'utf8'), /^name: shop$/m);
  } finally {
    p.cleanup();
  }
});

test('--strict refuses an import that drops keys: exit 2, the account printed, nothing written', async () => {
  const p = copyOf('webapp');
  try {
    const before = dirSnapshot(p.dir);
    const r = await wharf(['import', 'compose', '--dir', p.dir, '--strict']);
    assert.equal(r.code, 2, r.text);
    assert.match(r.text, /dropped \(\d+\)/);
    assert.match(r.text, /services\.web\.configs\[0\]/);
    assert.doesNotMatch(r.text, /rendered again/, 'nothing written, nothing compared');
    assert.deepEqual(dirSnapshot(p.dir), before);
  } finally {
    p.cleanup();
  }
});

test('a file Compose refuses: exit 2 naming the file, nothing written', async () => {
  const p = copyOf('webapp');
  try {
    writeFileSync(join(p.dir, 'broken.yaml'), 'services:\n  web:\n    image: [not, a, string\n');
    const before = dirSnapshot(p.dir);
    const r = await wharf(['import', 'compose', '--dir', p.dir, join(p.dir, 'broken.yaml')]);
    assert.equal(r.code, 2, r.text);
    assert.match(r.text, /broken\.yaml/);
    assert.deepEqual(dirSnapshot(p.dir), before);
  } finally {
    p.cleanup();
  }
});

test('hostile names and values: sanitised names, quotes, newlines and ${} kept as data, secrets still moved', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-import-'));
  try {
    writeFileSync(
      join(dir, 'compose.yaml'),
      [
        'name: My_App.2',
        'services:',
        '  Web_Front.1:',
        '    image: nginx:1.27',
        '    ports: ["8080:80"]',
        '    environment:',
        '      QUOTES: "it\'s \\"quoted\\" `cmd` $(id)"',
        '      NEWLINES: "line1\\nline2"',
        '      LITERAL: "$${NOT_INTERPOLATED}"',
        '      ADMIN_PASSWORD: "p\'w\\"d\\n$$x"',
        '  prometheus:',
        '    image: prom/prometheus:v2.55.0',
        '',
      ].join('\n'),
    );
    const { account } = await importJson(['--dir', dir]);
    const text = readFileSync(join(dir, 'wharf.yaml'), 'utf8');
    const spec = parse(text) as Record<string, any>;
    assert.equal(spec.name, 'my-app2', 'Compose normalises the project name (my_app2), wharf turns _ into -');
    assert.deepEqual(Object.keys(spec.services).sort(), ['prometheus-2', 'web-front-1'], 'a platform name is not taken');
    const env = spec.services['web-front-1'].env;
    assert.equal(env.QUOTES, 'it\'s "quoted" `cmd` $(id)');
    assert.equal(env.NEWLINES, 'line1\nline2');
    assert.equal(env.LITERAL, '${NOT_INTERPOLATED}');
    assert.ok(!text.includes("p'w"), 'the password is not in wharf.yaml');
    assert.equal(readFileSync(join(dir, '.wharf/secrets', env.ADMIN_PASSWORD_FILE.secret), 'utf8'), 'p\'w"d\n$x');
    assert.equal(account.fields.find((f) => f.path === 'services.Web_Front.1')?.outcome, 'changed');
    await assertChecksAndRenders(dir);
    assert.ok(existsSync(join(dir, '.wharf/compose/compose.yaml')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hostile files are refused before Compose reads them: alias bomb, duplicate keys, 2 MB (exit 2, path named, nothing written)', async () => {
  const level = (n: number) =>
    `x-${n}: &l${n} [${Array(9)
      .fill(`*l${n - 1}`)
      .join(',')}]`;
  const cases: Record<string, string> = {
    'bomb.yaml': [
      'x-0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      ...[1, 2, 3, 4, 5, 6, 7].map(level),
      'services:',
      '  web: {image: nginx:1.27}',
    ].join('\n'),
    'dup.yaml': 'services:\n  web: {image: nginx:1.27}\n  web: {image: nginx:1.26}\n',
    'big.yaml': `services:\n  web: {image: nginx:1.27}\nx-pad: "${'a'.repeat(2 * 1024 * 1024)}"\n`,
  };
  const dir = mkdtempSync(join(tmpdir(), 'wharf-import-'));
  try {
    for (const [file, text] of Object.entries(cases)) writeFileSync(join(dir, file), text);
    const before = dirSnapshot(dir);
    for (const [file, why] of [
      ['bomb.yaml', /alias/i],
      ['dup.yaml', /unique|duplicate/i],
      ['big.yaml', /bytes/],
    ] as const) {
      const started = Date.now();
      const r = await wharf(['import', 'compose', '--dir', dir, join(dir, file)]);
      assert.equal(r.code, 2, r.text);
      assert.match(r.text, new RegExp(file.replace('.', '\\.')));
      assert.match(r.text, why);
      assert.ok(Date.now() - started < 10_000, `${file} refused at once`);
    }
    assert.deepEqual(dirSnapshot(dir), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The project directory is a trust boundary (issue 22), through the CLI as a user meets it:
// a cloned repository with a committed manifest and links, links out of .wharf, init --force,
// secret files outside, and random links fuzzed over render, init and backup directories.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { repoRoot, templateText } from '../support/templates.js';
import { dirSnapshot } from '../support/project.js';
import { prepare, ensureBackupDirs, load } from '../../src/ops/prepare.js';
import { recordingRunner } from '../../src/engine/run.js';
import { main } from '../../src/cli/main.js';
import { init } from '../../src/cli/init.js';
import { InputError } from '../../src/errors.js';

const bin = join(repoRoot, 'bin', 'wharf.js');
const wharf = (cwd: string, ...args: string[]) => execa(process.execPath, [bin, ...args], { cwd, reject: false, env: { NO_COLOR: '1' } });

/** A project and a sibling directory holding a sentinel, both under one temporary directory. */
function sandbox(spec = templateText('api')) {
  const top = mkdtempSync(join(tmpdir(), 'wharf-trust-'));
  const dir = join(top, 'project');
  const outside = join(top, 'outside');
  mkdirSync(dir);
  mkdirSync(join(outside, 'sub'), { recursive: true });
  writeFileSync(join(outside, 'keep.txt'), 'precious\n');
  writeFileSync(join(outside, 'sub', 'compose.yaml'), 'not yours\n');
  writeFileSync(join(dir, 'wharf.yaml'), spec);
  symlinkSync(join(repoRoot, 'apps'), join(dir, 'apps'));
  return { top, dir, outside, cleanup: () => rmSync(top, { recursive: true, force: true }) };
}

for (const target of ['compose', 'k8s']) {
  test(`a cloned repository with a committed manifest and a symlinked directory: render --target ${target} deletes nothing outside`, async () => {
    const s = sandbox();
    try {
      const repo = join(s.top, 'repo');
      mkdirSync(join(repo, '.wharf', target), { recursive: true });
      writeFileSync(join(repo, 'wharf.yaml'), templateText('api'));
      symlinkSync(join(repoRoot, 'apps'), join(repo, 'apps'));
      symlinkSync(s.outside, join(repo, '.wharf', target, 'evil'));
      const manifest = ['evil/keep.txt', 'evil/sub/compose.yaml', 'evil/sub'];
      writeFileSync(join(repo, '.wharf', target, '.wharf-manifest.json'), JSON.stringify(manifest));
      const git = (cwd: string, ...a: string[]) => execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...a], { cwd });
      await git(repo, 'init', '-q');
      await git(repo, 'add', '-A');
      await git(repo, 'commit', '-qm', 'x');
      const clone = join(s.top, 'clone');
      await execa('git', ['clone', '-q', repo, clone]);
      const before = dirSnapshot(s.outside);
      const r = await wharf(clone, 'render', '--target', target);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.deepEqual(dirSnapshot(s.outside), before);
    } finally {
      s.cleanup();
    }
  });
}

test('a manifest entry naming a directory: render succeeds (exit 0) and leaves the directory alone', async () => {
  const s = sandbox();
  try {
    mkdirSync(join(s.dir, '.wharf', 'compose', 'mine', 'deep'), { recursive: true });
    writeFileSync(join(s.dir, '.wharf', 'compose', 'mine', 'deep', 'notes.txt'), 'mine\n');
    writeFileSync(join(s.dir, '.wharf', 'compose', '.wharf-manifest.json'), JSON.stringify(['mine', 'mine/deep']));
    const r = await wharf(s.dir, 'render');
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    assert.equal(readFileSync(join(s.dir, '.wharf', 'compose', 'mine', 'deep', 'notes.txt'), 'utf8'), 'mine\n');
  } finally {
    s.cleanup();
  }
});

test('names the platform generates (db-exporter, cache-exporter, db-password, backup-restic-password, grafana-admin-password, edge-tls-key): render and up refuse each, nothing written', async () => {
  const d = parse(templateText('api'));
  d.services['db-exporter'] = { image: 'nginx:1.27', port: 80 };
  d.services['cache-exporter'] = { image: 'nginx:1.27', port: 80 };
  d.tls = { mode: 'files', cert: './cert.pem', key: './key.pem' };
  const names = ['db-password', 'backup-restic-password', 'grafana-admin-password', 'edge-tls-key'];
  d.secrets = { ...(d.secrets ?? {}), ...Object.fromEntries(names.map((n) => [n, { generate: true }])) };
  const s = sandbox(stringify(d));
  try {
    for (const f of ['cert.pem', 'key.pem']) writeFileSync(join(s.dir, f), 'not a PEM\n');
    const project = dirSnapshot(s.dir);
    for (const cmd of ['render', 'up']) {
      const r = await wharf(s.dir, cmd);
      assert.equal(r.exitCode, 2, `${cmd}: ${r.stdout}${r.stderr}`);
      for (const path of ['services.db-exporter', 'services.cache-exporter', ...names.map((n) => `secrets.${n}`)])
        assert.match(r.stderr, new RegExp(`${path.replace(/\./g, '\\.')}: "`), `${cmd} names ${path}`);
      assert.deepEqual(dirSnapshot(s.dir), project, cmd);
    }
  } finally {
    s.cleanup();
  }
});

test('a plain secret in env (WH002) is refused by render and up as by check: exit 2, the rule named, nothing written', async () => {
  const d = parse(templateText('api'));
  const name = Object.keys(d.services)[0]!;
  d.services[name].env = { ...(d.services[name].env ?? {}), DB_PASSWORD: 'hunter2-plain' };
  const s = sandbox(stringify(d));
  try {
    const project = dirSnapshot(s.dir);
    for (const cmd of ['check', 'render', 'up']) {
      const r = await wharf(s.dir, cmd);
      assert.notEqual(r.exitCode, 0, cmd);
      assert.equal(r.exitCode, cmd === 'check' ? 1 : 2, `${cmd}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout + r.stderr, new RegExp(`services\\.${name}\\.env\\.DB_PASSWORD`), cmd);
      assert.match(r.stdout + r.stderr, /WH002/, cmd);
      assert.doesNotMatch(r.stdout + r.stderr, /hunter2-plain/, cmd);
      assert.deepEqual(dirSnapshot(s.dir), project, cmd);
    }
  } finally {
    s.cleanup();
  }
});

test('.wharf, .wharf/secrets or the local backup directory linked out of the project: exit 2, the link named, nothing changed anywhere', async () => {
  for (const link of ['.wharf', '.wharf/secrets', '.wharf/backups']) {
    const s = sandbox();
    try {
      if (link !== '.wharf') mkdirSync(join(s.dir, '.wharf'));
      symlinkSync(s.outside, join(s.dir, link));
      const project = dirSnapshot(s.dir);
      const before = dirSnapshot(s.outside);
      const r = await wharf(s.dir, 'render');
      assert.equal(r.exitCode, 2, `${link}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${link.replace(/\./g, '\\.')}: is a symbolic link to ${s.outside}`));
      assert.deepEqual(dirSnapshot(s.dir), project, link);
      assert.deepEqual(dirSnapshot(s.outside), before, link);
    } finally {
      s.cleanup();
    }
  }
});

test('init --force with wharf.yaml, package.json or apps/ linked out of the project: exit 2, nothing written outside', async () => {
  for (const link of ['wharf.yaml', 'package.json', 'apps']) {
    const s = sandbox();
    try {
      rmSync(join(s.dir, link), { force: true });
      if (link === 'apps') symlinkSync(join(s.outside, 'sub'), join(s.dir, link));
      else symlinkSync(join(s.outside, link === 'package.json' ? 'pkg.json' : 'keep.txt'), join(s.dir, link));
      if (link === 'package.json') writeFileSync(join(s.outside, 'pkg.json'), '{"name":"x"}\n');
      const before = dirSnapshot(s.outside);
      const project = dirSnapshot(s.dir);
      const r = await wharf(s.dir, 'init', '--force');
      assert.equal(r.exitCode, 2, `${link}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${link.replace('.', '\\.')}: is a symbolic link`));
      assert.deepEqual(dirSnapshot(s.outside), before, link);
      assert.deepEqual(dirSnapshot(s.dir), project, link);
    } finally {
      s.cleanup();
    }
  }
});

test('secret files outside the project: a relative escape or a link is refused by check and render with the spec path (tls.cert, tls.key, not secrets.edge-tls-key.file); an absolute path is reported by check', async () => {
  const d = parse(templateText('api'));
  d.tls = { mode: 'files', cert: './certs/cert.pem', key: './certs/key.pem' };
  d.secrets = { ...(d.secrets ?? {}), token: { file: '../outside/keep.txt' }, hostfile: { file: '/etc/hostname' } };
  const s = sandbox(stringify(d));
  try {
    mkdirSync(join(s.dir, 'certs'));
    symlinkSync(join(s.outside, 'keep.txt'), join(s.dir, 'certs', 'key.pem'));
    symlinkSync(join(s.outside, 'sub', 'compose.yaml'), join(s.dir, 'certs', 'cert.pem'));
    const project = dirSnapshot(s.dir);
    for (const cmd of ['check', 'render']) {
      const r = await wharf(s.dir, cmd);
      assert.equal(r.exitCode, 2, r.stdout + r.stderr);
      const out = r.stdout + r.stderr;
      assert.match(out, /tls\.key/);
      assert.match(out, /tls\.cert/);
      assert.match(out, /secrets\.token\.file/);
      if (cmd === 'check') assert.match(out, /warning .*secrets\.hostfile\.file/);
      assert.doesNotMatch(out, /edge-tls-key\.file|edge-tls-cert\.file|precious|not yours/);
      assert.deepEqual(dirSnapshot(s.dir), project, cmd);
    }
  } finally {
    s.cleanup();
  }
});

test('a wharf.yaml that is a link to a non-YAML file is described, its content never printed', async () => {
  const s = sandbox();
  try {
    writeFileSync(join(s.outside, 'env'), 'SECRET_TOKEN=ghp_0123456789abcdef\nDB_PASSWORD=hunter2\n');
    rmSync(join(s.dir, 'wharf.yaml'));
    symlinkSync(join(s.outside, 'env'), join(s.dir, 'wharf.yaml'));
    const r = await wharf(s.dir, 'check');
    assert.equal(r.exitCode, 2);
    assert.doesNotMatch(r.stdout + r.stderr, /ghp_|hunter2/);
    assert.match(r.stdout + r.stderr, /not shown/);
  } finally {
    s.cleanup();
  }
});

const silent = { log: () => {}, error: () => {} };
const composeVersion = ({ argv }: { argv: string[] }) =>
  argv.join(' ') === 'docker compose version' ? { stdout: 'Docker Compose version v2.26.1' } : undefined;

test('fuzz: random links inside the project to files and directories outside; render, init --force, backup and restore change nothing outside', async () => {
  // A spec whose database backs up to a local directory of the project (./bk/db), so its links are fuzzed too.
  const d = parse(templateText('api'));
  d.databases.db.backup.destination = { type: 'local', path: './bk/db' };
  const spec = stringify(d);
  const places = [
    '.wharf',
    '.wharf/compose',
    '.wharf/secrets',
    '.wharf/backups',
    '.wharf/state',
    '.wharf/compose/traefik',
    '.wharf/compose/evil',
    'bk',
    'bk/db',
    'package.json',
    'wharf.yaml',
  ];
  await fc.assert(
    fc.asyncProperty(
      fc.subarray(places, { minLength: 1 }),
      fc.array(fc.constantFrom('keep.txt', 'sub', 'sub/compose.yaml', '.'), { minLength: places.length, maxLength: places.length }),
      async (links, targets) => {
        const s = sandbox(spec);
        try {
          for (const [i, l] of links.entries()) {
            try {
              mkdirSync(join(s.dir, l, '..'), { recursive: true });
              rmSync(join(s.dir, l), { force: true });
              symlinkSync(join(s.outside, targets[i]!), join(s.dir, l));
            } catch {
              continue; // a parent is itself a link now
            }
          }
          const specPath = join(s.dir, 'wharf.yaml');
          const before = dirSnapshot(s.outside);
          const refusedOrDone = async (fn: () => Promise<unknown> | unknown) => {
            try {
              await fn();
            } catch (e) {
              if (!(e instanceof InputError)) throw e;
            }
          };
          await refusedOrDone(() => prepare({ specPath }));
          await refusedOrDone(async () => ensureBackupDirs((await load(specPath)).plan, s.dir));
          // backup and restore as the CLI runs them (engine commands recorded, never run): what they touch on the host
          for (const args of [['backup', 'db'], ['restore', 'db', '--yes'], ['backups']]) {
            const { runner } = recordingRunner(composeVersion);
            await main(['node', 'wharf', ...args, '--file', specPath], silent, { runner, interactive: false });
          }
          await refusedOrDone(() => init(s.dir, 'api', true));
          assert.deepEqual(dirSnapshot(s.outside), before, `links: ${links.map((l, i) => `${l} -> ${targets[i]}`).join(', ')}`);
          assert.equal(readFileSync(join(s.outside, 'keep.txt'), 'utf8'), 'precious\n');
        } finally {
          s.cleanup();
        }
      },
    ),
    { numRuns: 30 },
  );
});

// MySQL/MariaDB, Redis and volume jobs, run for real on this host (MariaDB and Redis on
// loopback, restic >= 0.17): each backs up, passes verification, and restores.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { missingServers, startMariadb, startRedis, type DbServer, type RedisServer } from '../support/servers.js';
import { requireTool } from '../support/tools.js';
import { BackupError, backupNow, restoreBackup, verifyBackups, type BackupProgress } from '../../src/ops/backup.js';
import { makeSandbox, metricValue, planFromYaml, resticBinary, type Sandbox } from './backup-harness.js';

const restic = resticBinary();
const noRestic = requireTool(!!restic, 'restic >= 0.17 (WHARF_RESTIC, or the wharf-test/restic image)');

const spec = (body: string) => `name: kinds
domain: kinds.localhost
monitoring:
  enabled: false
${body}`;

describe(
  'mysql job against real MariaDB',
  { skip: noRestic ?? requireTool(!missingServers('mariadb'), 'MariaDB server'), timeout: 300_000 },
  () => {
    let db: DbServer;
    let sb: Sandbox;
    const mysql = (q: string, d = 'wharf') =>
      execFileSync('mariadb', ['-h', '127.0.0.1', '-P', String(db.port), '-u', 'wharf', `-p${db.password}`, '-N', '-B', d, '-e', q], {
        encoding: 'utf8',
      }).trim();
    before(async () => {
      db = await startMariadb();
      // the job dumps as root in a stack; here the test user gets the same rights
      execFileSync('mariadb', ['--socket', join(db.dir, 'mysqld.sock'), '-u', 'root', '-e', "GRANT ALL PRIVILEGES ON *.* TO 'wharf'@'%'"]);
      mysql(
        "CREATE TABLE items (id int PRIMARY KEY AUTO_INCREMENT, name varchar(100), price decimal(10,2)); INSERT INTO items (name, price) SELECT CONCAT('item ', seq), seq * 1.5 FROM seq_1_to_800",
      );
      const plan = planFromYaml(
        spec(
          `services:\n  web:\n    image: example/web:1\n    port: 3000\n    uses: [db]\ndatabases:\n  db:\n    engine: mariadb\n    user: wharf\n    database: wharf\n    backup:\n      schedule: "*/5 * * * *"\n      retention:\n        keepLast: 10\n`,
        ),
      );
      sb = makeSandbox(plan, {
        restic: restic!,
        secrets: { 'db-root-password': db.password },
        env: { WHARF_DB_HOST: '127.0.0.1', WHARF_DB_PORT: String(db.port), WHARF_DB_USER: 'wharf' },
      });
    });
    after(async () => {
      await db?.stop();
      sb?.cleanup();
    });

    it('backs up with mysqldump --single-transaction, verifies by a scratch restore, restores in place', async () => {
      const before = mysql('SELECT GROUP_CONCAT(id, name, price ORDER BY id) FROM items');
      const [b] = await backupNow(sb.executor);
      assert.ok(b?.ok, b?.error);
      const [v] = await verifyBackups(sb.executor, { readDataSubset: '100%' });
      assert.ok(v?.ok, v?.error);
      assert.equal(v.tables, 1);
      mysql('DELETE FROM items WHERE id > 10');
      const r = await restoreBackup(sb.executor, { target: 'db', confirm: () => true });
      assert.ok(r.ok, r.error);
      assert.match(r.safetySnapshot ?? '', /^[0-9a-f]{64}$/);
      assert.equal(mysql('SELECT GROUP_CONCAT(id, name, price ORDER BY id) FROM items'), before);
      // what writes to the database was stopped first and started again after
      assert.deepEqual(sb.serviceCalls, ['stop web', 'start web']);
      assert.deepEqual(r.restarted, ['web']);
      assert.equal(metricValue(sb.metrics('db'), 'wharf_backup_last_status'), 1);
    });
  },
);

describe(
  'redis job against a real Redis',
  { skip: noRestic ?? requireTool(!missingServers('redis'), 'redis-server'), timeout: 300_000 },
  () => {
    let rd: RedisServer;
    let sb: Sandbox;
    let stopCache = true;
    const cli = (...a: string[]) =>
      execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(rd.port), '--no-auth-warning', '-a', rd.password, ...a], {
        encoding: 'utf8',
      }).trim();
    const redisSpec = (persistence: boolean) =>
      spec(
        `services:\n  web:\n    image: example/web:1\n    port: 3000\n    uses: [cache]\ncaches:\n  cache:\n    engine: redis\n    maxmemory: 64M\n    persistence: ${persistence}\n    backup:\n      schedule: "@hourly"\n`,
      );
    before(async () => {
      rd = await startRedis();
      for (let i = 0; i < 50; i++) cli('SET', `k${i}`, `value ${i}`);
      cli('SET', 'session', 'x', 'EX', '3600');
      // the cache's data volume is the server's own directory: the restored RDB is what it loads
      sb = makeSandbox(planFromYaml(redisSpec(true)), {
        restic: restic!,
        secrets: { 'cache-password': rd.password },
        env: { WHARF_DB_HOST: '127.0.0.1', WHARF_DB_PORT: String(rd.port) },
        services: {
          cache: {
            stop: async () => {
              if (stopCache) await rd.stop({ keepData: true });
            },
            start: async () => {
              if (!rd.running) await rd.start();
            },
          },
        },
      });
      symlinkSync(rd.dir, join(sb.dir, 'volumes', 'cache-data'));
    });
    after(async () => {
      await rd?.stop();
      sb?.cleanup();
    });

    it('restores for real: stops the app and the cache, replaces the RDB in its volume, starts it, compares DBSIZE with the backup', async () => {
      const [b] = await backupNow(sb.executor);
      assert.ok(b?.ok, b?.error);
      const [v] = await verifyBackups(sb.executor);
      assert.ok(v?.ok, v?.error);
      cli('FLUSHALL');
      cli('SET', 'stray', 'written after the backup');
      const events: BackupProgress[] = [];
      const r = await restoreBackup(sb.executor, { target: 'cache', confirm: () => true, onProgress: (e) => events.push(e) });
      assert.ok(r.ok, r.error);
      assert.equal(r.verified, true, 'DBSIZE compared with the key count recorded at backup time');
      assert.equal(r.tables, 51);
      assert.deepEqual(sb.serviceCalls, ['stop web', 'stop cache', 'start cache', 'start web']);
      const said = events.map((e) => e.message);
      assert.ok(said.includes('stopping web (uses cache cache)'), said.join('\n'));
      assert.ok(said.includes('stopping cache (Redis loads the restored RDB when it starts)'));
      assert.equal(cli('DBSIZE'), '51');
      assert.equal(cli('GET', 'k49'), 'value 49');
      assert.equal(cli('EXISTS', 'stray'), '0');
    });

    it('a cache that did not stop is not overwritten: the restore fails loudly and what was stopped starts again', async () => {
      sb.serviceCalls.length = 0;
      stopCache = false; // the engine said it stopped it, but Redis still answers
      try {
        cli('SET', 'stray', 'x');
        const r = await restoreBackup(sb.executor, { target: 'cache', confirm: () => true });
        assert.equal(r.ok, false);
        assert.notEqual(r.exitCode, 0);
        assert.match(r.error ?? '', /still running.*; cache, web started again/);
        assert.deepEqual(sb.serviceCalls, ['stop web', 'stop cache', 'start cache', 'start web']);
        assert.equal(cli('GET', 'stray'), 'x', 'nothing was restored');
      } finally {
        stopCache = true;
      }
    });

    it('refuses an in-place restore of a cache without persistence, before stopping anything', async () => {
      const plain = makeSandbox(planFromYaml(redisSpec(false)), { restic: restic!, secrets: { 'cache-password': rd.password } });
      try {
        await assert.rejects(
          restoreBackup(plain.executor, { target: 'cache', confirm: () => true }),
          (e: Error) => e instanceof BackupError && /cache cache has no persistence/.test(e.message),
        );
        assert.deepEqual(plain.serviceCalls, []);
        // and the script itself refuses too (exit 2), should it be run by hand
        const r = await plain.run('restore', ['cache', 'a'.repeat(64)]);
        assert.notEqual(r.code, 0);
      } finally {
        plain.cleanup();
      }
    });
  },
);

describe('volume job', { skip: noRestic, timeout: 300_000 }, () => {
  let sb: Sandbox;
  let vol: string;
  before(() => {
    const plan = planFromYaml(
      spec(
        `services:\n  files:\n    image: example/files:1\n    port: 8080\n    volumes:\n      - name: uploads\n        target: /data\n        backup:\n          schedule: "0 * * * *"\n`,
      ),
    );
    sb = makeSandbox(plan, { restic: restic! });
    vol = join(sb.dir, 'volumes', 'uploads');
    mkdirSync(join(vol, 'a', 'b'), { recursive: true });
    for (let i = 0; i < 30; i++) writeFileSync(join(vol, 'a', i % 2 ? 'b' : '', `f${i}.txt`), `file ${i}\n`.repeat(i + 1));
    // names tar would escape in the C locale
    writeFileSync(join(vol, 'été b.txt'), 'accents and a space\n'.repeat(60));
    writeFileSync(join(vol, 'back\\slash'), 'a backslash\n'.repeat(60));
  });
  after(() => sb?.cleanup());

  it('archives the volume, and a restore puts back exactly the same files', async () => {
    const snapshot = () => execFileSync('sh', ['-c', 'cd "$1" && find . -type f -exec md5sum {} + | sort', 'x', vol], { encoding: 'utf8' });
    const before = snapshot();
    const [b] = await backupNow(sb.executor);
    assert.ok(b?.ok, b?.error);
    rmSync(join(vol, 'a', 'b'), { recursive: true });
    writeFileSync(join(vol, 'stray.txt'), 'not in the backup');
    const timeline: string[] = [];
    const r = await restoreBackup(sb.executor, {
      target: 'uploads',
      confirm: () => true,
      onProgress: (e) => {
        if (e.phase !== 'log') timeline.push(`${e.phase}: ${e.message}`);
      },
    });
    assert.ok(r.ok, r.error);
    assert.equal(snapshot(), before);
    assert.equal(readdirSync(vol).includes('stray.txt'), false);
    // the service owning the volume was stopped before anything was written, started after the check
    assert.deepEqual(sb.serviceCalls, ['stop files', 'start files']);
    const at = (re: RegExp) => {
      const i = timeline.findIndex((l) => re.test(l));
      assert.ok(i >= 0, `${re} not in:\n${timeline.join('\n')}`);
      return i;
    };
    assert.ok(at(/^stop: stopping files \(owns volume uploads\)$/) < at(/^safety: /));
    assert.ok(at(/^safety: /) < at(/^restore: /));
    assert.ok(at(/^check: comparing the restored files/) < at(/^start: starting files again \(restored\)$/));
    assert.equal(r.verified, true);
    assert.equal(r.tables, 32);
  });

  it('a failed restore still starts the service again, and says so', async () => {
    sb.serviceCalls.length = 0;
    const repo = join(sb.repoDir, 'uploads');
    // the repository's disk goes away after the service was stopped
    sb.executor.services = {
      ...sb.executor.services!,
      stop: async (n) => {
        sb.serviceCalls.push(`stop ${n.join(',')}`);
        renameSync(repo, `${repo}.away`);
      },
    };
    try {
      const events: BackupProgress[] = [];
      const r = await restoreBackup(sb.executor, {
        target: 'uploads',
        confirm: () => true,
        noSafety: true,
        onProgress: (e) => events.push(e),
      });
      assert.equal(r.ok, false);
      assert.match(r.error ?? '', /unreachable or unreadable.*; files started again/);
      assert.deepEqual(sb.serviceCalls, ['stop files', 'start files']);
      assert.ok(events.some((e) => e.message === 'starting files again (the restore FAILED)'));
      assert.deepEqual(r.restarted, ['files']);
    } finally {
      renameSync(`${repo}.away`, repo);
    }
  });
});

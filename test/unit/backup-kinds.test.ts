// MySQL/MariaDB, Redis and volume jobs, run for real on this host (MariaDB and Redis on
// loopback, restic >= 0.17): each backs up, passes verification, and restores.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { missingServers, startMariadb, startRedis, type DbServer, type RedisServer } from '../support/servers.js';
import { requireTool } from '../support/tools.js';
import { backupNow, restoreBackup, verifyBackups } from '../../src/ops/backup.js';
import { makeSandbox, metricValue, planFromYaml, resticBinary, type Sandbox } from './backup-harness.js';

const restic = resticBinary();
const noRestic = requireTool(!!restic, 'restic >= 0.17 (WHARF_RESTIC, or the wharf-test/restic image)');

const spec = (body: string) => `name: kinds
domain: kinds.localhost
monitoring:
  enabled: false
${body}`;

describe('mysql job against real MariaDB', { skip: noRestic ?? requireTool(!missingServers('mariadb'), 'MariaDB server'), timeout: 300_000 }, () => {
  let db: DbServer;
  let sb: Sandbox;
  const mysql = (q: string, d = 'wharf') => execFileSync('mariadb', ['-h', '127.0.0.1', '-P', String(db.port), '-u', 'wharf', `-p${db.password}`, '-N', '-B', d, '-e', q], { encoding: 'utf8' }).trim();
  before(async () => {
    db = await startMariadb();
    // the job dumps as root in a stack; here the test user gets the same rights
    execFileSync('mariadb', ['--socket', join(db.dir, 'mysqld.sock'), '-u', 'root', '-e', "GRANT ALL PRIVILEGES ON *.* TO 'wharf'@'%'"]);
    mysql("CREATE TABLE items (id int PRIMARY KEY AUTO_INCREMENT, name varchar(100), price decimal(10,2)); INSERT INTO items (name, price) SELECT CONCAT('item ', seq), seq * 1.5 FROM seq_1_to_800");
    const plan = planFromYaml(spec(`services:\n  web:\n    image: example/web:1\n    port: 3000\n    uses: [db]\ndatabases:\n  db:\n    engine: mariadb\n    user: wharf\n    database: wharf\n    backup:\n      schedule: "*/5 * * * *"\n      retention:\n        keepLast: 10\n`));
    sb = makeSandbox(plan, { restic: restic!, secrets: { 'db-root-password': db.password }, env: { WHARF_DB_HOST: '127.0.0.1', WHARF_DB_PORT: String(db.port), WHARF_DB_USER: 'wharf' } });
  });
  after(async () => { await db?.stop(); sb?.cleanup(); });

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
    assert.equal(metricValue(sb.metrics('db'), 'wharf_backup_last_status'), 1);
  });
});

describe('redis job against a real Redis', { skip: noRestic ?? requireTool(!missingServers('redis'), 'redis-server'), timeout: 300_000 }, () => {
  let rd: RedisServer;
  let sb: Sandbox;
  before(async () => {
    rd = await startRedis();
    const cli = (...a: string[]) => execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(rd.port), '--no-auth-warning', '-a', rd.password, ...a], { encoding: 'utf8' });
    for (let i = 0; i < 50; i++) cli('SET', `k${i}`, `value ${i}`);
    const plan = planFromYaml(spec(`caches:\n  cache:\n    engine: redis\n    maxmemory: 64M\n    persistence: true\n    backup:\n      schedule: "@hourly"\n`));
    sb = makeSandbox(plan, { restic: restic!, secrets: { 'cache-password': rd.password }, env: { WHARF_DB_HOST: '127.0.0.1', WHARF_DB_PORT: String(rd.port) } });
  });
  after(async () => { await rd?.stop(); sb?.cleanup(); });

  it('backs up the RDB, checks it, and restores it to a file for the cache to load', async () => {
    const [b] = await backupNow(sb.executor);
    assert.ok(b?.ok, b?.error);
    const [v] = await verifyBackups(sb.executor);
    assert.ok(v?.ok, v?.error);
    const r = await restoreBackup(sb.executor, { target: 'cache', confirm: () => true });
    assert.ok(r.ok, r.error);
    const rdb = readFileSync(r.destination!);
    assert.equal(rdb.subarray(0, 5).toString(), 'REDIS');
    assert.ok(rdb.includes(Buffer.from('value 49')));
  });
});

describe('volume job', { skip: noRestic, timeout: 300_000 }, () => {
  let sb: Sandbox;
  let vol: string;
  before(() => {
    const plan = planFromYaml(spec(`services:\n  files:\n    image: example/files:1\n    port: 8080\n    volumes:\n      - name: uploads\n        target: /data\n        backup:\n          schedule: "0 * * * *"\n`));
    sb = makeSandbox(plan, { restic: restic! });
    vol = join(sb.dir, 'volumes', 'uploads');
    mkdirSync(join(vol, 'a', 'b'), { recursive: true });
    for (let i = 0; i < 30; i++) writeFileSync(join(vol, 'a', i % 2 ? 'b' : '', `f${i}.txt`), `file ${i}\n`.repeat(i + 1));
  });
  after(() => sb?.cleanup());

  it('archives the volume, and a restore puts back exactly the same files', async () => {
    const snapshot = () => execFileSync('sh', ['-c', 'cd "$1" && find . -type f | sort | xargs md5sum', 'x', vol], { encoding: 'utf8' });
    const before = snapshot();
    const [b] = await backupNow(sb.executor);
    assert.ok(b?.ok, b?.error);
    rmSync(join(vol, 'a', 'b'), { recursive: true });
    writeFileSync(join(vol, 'stray.txt'), 'not in the backup');
    const r = await restoreBackup(sb.executor, { target: 'uploads', confirm: () => true });
    assert.ok(r.ok, r.error);
    assert.equal(snapshot(), before);
    assert.equal(readdirSync(vol).includes('stray.txt'), false);
  });
});

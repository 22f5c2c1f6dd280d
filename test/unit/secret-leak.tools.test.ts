// No secret value anywhere it should not be: every generated secret of every kind (random
// passwords of every length, the 48-character restic password, passwords inside derived files,
// the TLS private key) is read back from .wharf/secrets and searched for in every file the CLI
// wrote outside that directory, in every CLI output, and in every command the ops would run
// (as logged: formatCmd, describe, argv). Hashes and the public certificate are skipped only
// after checking that they are exactly that.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { formatCmd, redact, type Cmd } from '../../src/engine/command.js';
import { ComposeEngine } from '../../src/engine/compose.js';
import type { OpsContext } from '../../src/engine/context.js';
import { recordingRunner } from '../../src/engine/run.js';
import { backupNow, stackBackupExecutor, listBackups, restoreBackup, verifyBackups } from '../../src/ops/backup.js';
import { load } from '../../src/ops/prepare.js';
import { upCommands } from '../../src/ops/up.js';
import { leaks, secretInventory } from '../support/secret-values.js';
import { repoRoot } from '../support/templates.js';

const bin = join(repoRoot, 'bin', 'wharf.js');
const wharf = (cwd: string, ...args: string[]) =>
  execa(process.execPath, [bin, ...args], { cwd, reject: false, env: { NO_COLOR: '1' }, timeout: 120_000 });

function walk(dir: string, skip: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (p === skip || e.isSymbolicLink()) return [];
    return e.isDirectory() ? walk(p, skip) : statSync(p).size < 8 * 1024 * 1024 ? [p] : [];
  });
}

/** the commands backup/verify/list/restore and up would run, through a recording runner */
async function loggedCommands(ctx: OpsContext): Promise<Cmd[]> {
  const snap = 'cd'.repeat(32);
  const { runner, calls } = recordingRunner((c) => {
    if (c.argv.includes('/backup/bin/list.sh'))
      return {
        stdout: JSON.stringify({
          backup: { status: 1 },
          verify: { status: 1 },
          snapshots: [{ id: snap, short_id: snap.slice(0, 8), time: '2026-12-01T03:00:00Z', tags: ['wharf-dump'] }],
        }),
      };
    if (c.argv.includes('/backup/bin/restore.sh')) return { stdout: JSON.stringify({ verified: true, tables: 1 }) };
    // one running backup container, for the executor to exec into
    if (c.argv[1] === 'ps') return { stdout: 'b0\n' };
    if (c.argv[1] === 'inspect') {
      return {
        stdout: JSON.stringify([
          {
            Id: 'b0',
            Name: `/${ctx.plan.name}-backup-1`,
            Image: 'sha256:0',
            State: { Status: 'running', StartedAt: '', ExitCode: 0 },
            Config: { Image: 'restic', Labels: { 'com.docker.compose.project': ctx.plan.name, 'com.docker.compose.service': 'backup' } },
            NetworkSettings: {},
          },
        ]),
      };
    }
    return undefined;
  });
  const rctx = { ...ctx, runner };
  const ex = await stackBackupExecutor(rctx);
  ex.services = { ...ex.services!, waitHealthy: async () => {}, notRunning: async () => [] };
  await backupNow(ex);
  await verifyBackups(ex);
  await listBackups(ex);
  for (const j of ctx.plan.backups) await restoreBackup(ex, { target: j.name, confirm: () => true });
  return [...upCommands(ctx), ...calls];
}

for (const template of ['api', 'haproxy-mysql', 'gitea']) {
  test(
    `${template}: no generated secret of any kind appears in rendered files, CLI output or command logs`,
    { timeout: 300_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'wharf-leak-'));
      try {
        const outputs: Array<{ name: string; text: string }> = [];
        const cli = async (...args: string[]) => {
          const r = await wharf(dir, ...args);
          outputs.push(
            { name: `wharf ${args.join(' ')} (stdout)`, text: r.stdout },
            { name: `wharf ${args.join(' ')} (stderr)`, text: r.stderr },
          );
          return r;
        };
        for (const args of [
          ['init', '--template', template],
          ['check'],
          ['check', '--format', 'json'],
          ['render'],
          ['render'],
          ['secrets'],
          ['schema'],
        ]) {
          const r = await cli(...args);
          assert.equal(r.exitCode, 0, `wharf ${args.join(' ')}: ${r.stderr}`);
        }
        // commands that reach the engine: no stack runs, they fail, and their errors are output too
        for (const args of [['status', '--json'], ['backups'], ['restore', 'db', '--yes']]) await cli(...args);

        const { plan, layout } = await load(join(dir, 'wharf.yaml'));
        const inv = secretInventory(plan, layout.secretsDir);
        // every plain secret is searched for, whatever its length
        const plain = plan.secrets.filter((s) =>
          ['random', 'file', 'my-cnf', 'redis-exporter-passwords', 'connection-url', 'tls-key', 'tls-pem'].includes(s.source.kind),
        );
        for (const s of plain)
          assert.ok(
            inv.values.some((v) => v.secret === s.name),
            `${s.name} (${s.source.kind}) is not searched for`,
          );
        const restic = inv.values.find((v) => v.secret === 'backup-restic-password');
        assert.equal(restic?.value.length, 48, 'the restic password (48 characters) is searched for');
        assert.ok(new Set(inv.values.map((v) => v.value.length)).size >= 2, 'secrets of several lengths');
        assert.ok(
          inv.values.some((v) => v.kind === 'tls-key'),
          'the TLS private key is searched for',
        );
        for (const s of inv.skipped) assert.match(s.why, /^(bcrypt|SHA-512-crypt|SHA-256) hash$|^certificate: public by design$/);

        const files = walk(dir, layout.secretsDir).map((p) => ({ name: relative(dir, p), text: readFileSync(p, 'utf8') }));
        assert.ok(files.some((f) => f.name === join('.wharf', 'compose', 'compose.yaml')));
        const ctx: OpsContext = {
          plan,
          outDir: layout.outDir,
          projectDir: layout.projectDir,
          secretsDir: layout.secretsDir,
          engine: new ComposeEngine({
            compose: { kind: 'v2', argv: ['docker', 'compose'], version: '2.26.1' },
            project: plan.name,
            dir: layout.outDir,
          }),
        };
        const cmds = await loggedCommands(ctx);
        assert.ok(
          cmds.some((c) => c.argv.includes('/backup/bin/restore.sh')),
          'restore commands were logged',
        );
        const logs = cmds.map((c, i) => ({
          name: `command ${i}: ${c.describe}`,
          text: `${formatCmd(c)}\n${c.describe}\n${c.argv.join(' ')}`,
        }));

        assert.deepEqual(leaks(inv, [...outputs, ...files, ...logs]), []);
        // the check can fail: a secret printed anywhere is found
        assert.deepEqual(leaks(inv, [{ name: 'probe', text: `x ${restic!.value} y` }]), ['backup-restic-password (random) in probe']);
        // and the executor's masking covers the 48-character password
        assert.equal(redact(`pw ${restic!.value}`, cmds.find((c) => c.argv.includes('exec'))?.redact), 'pw ***');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

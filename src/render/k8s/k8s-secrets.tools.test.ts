// The k8s target's secrets, through the real CLI: no generated secret value anywhere in the
// tree, and every Secret SOPS-encrypted so that sops-age and the age binary open it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createDecipheriv, createHash } from 'node:crypto';
import { execa } from 'execa';
import { decryptSops } from 'sops-age';
import { parseAllDocuments } from 'yaml';
import { checkK8sDocuments } from '../../check/k8s-rules.js';
import { k8sPaths, secretsNeeded } from './index.js';
import { toolPath } from '../../../test/support/tools.js';
import { leaks, secretInventory } from '../../../test/support/secret-values.js';
import { type Doc, listFiles } from '../../../test/support/k8s-tree.js';
import { loadVariant, repoRoot } from '../../../test/support/templates.js';

for (const template of ['api', 'haproxy-mysql', 'k3s']) {
  test(
    `k8s: wharf render --target k8s writes the tree and no generated secret value is in it (${template})`,
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'wharf-k8s-leak-'));
      try {
        writeFileSync(join(dir, 'wharf.yaml'), readFileSync(join(repoRoot, 'templates', `${template}.yaml`)));
        const r = await execa(process.execPath, [join(repoRoot, 'bin', 'wharf.js'), 'render', '--target', 'k8s'], {
          cwd: dir,
          reject: false,
          env: { NO_COLOR: '1' },
        });
        assert.equal(r.exitCode, 0, r.stderr);
        const out = join(dir, '.wharf', 'k8s');
        const tree = listFiles(out);
        assert.ok(tree.some((p) => p.endsWith('apps/base/kustomization.yaml')));
        const { plan } = loadVariant({ template });
        const inv = secretInventory(plan, join(dir, '.wharf', 'secrets'));
        assert.ok(inv.values.length >= plan.secrets.length - inv.skipped.length);
        assert.deepEqual(
          leaks(inv, [
            ...tree.map((p) => ({ name: relative(out, p), text: readFileSync(p, 'utf8') })),
            { name: 'stdout', text: r.stdout + r.stderr },
          ]),
          [],
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

/** sops' MAC, recomputed here from the document: SHA-512 of every value in order, upper-case hex. */
function sopsMac(doc: Doc): string {
  const h = createHash('sha512');
  const walk = (v: unknown): void => {
    if (typeof v === 'string') h.update(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  const { sops: _, ...rest } = doc;
  walk(rest);
  return h.digest('hex').toUpperCase();
}

function aesGcmOpen(enc: string, key: Buffer, aad: string): string {
  const m = /^ENC\[AES256_GCM,data:(.*),iv:(.+),tag:(.+),type:str\]$/.exec(enc)!;
  const d = createDecipheriv('aes-256-gcm', key, Buffer.from(m[2]!, 'base64'));
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(Buffer.from(m[3]!, 'base64'));
  return Buffer.concat([d.update(Buffer.from(m[1]!, 'base64')), d.final()]).toString('utf8');
}

for (const template of ['api', 'haproxy-mysql', 'k3s']) {
  test(
    `k8s: every Secret is SOPS-encrypted; sops-age and the age binary open it, the MAC holds, a re-render keeps it (${template})`,
    { timeout: 180_000 },
    async (t) => {
      const ageBin = toolPath('age');
      if (!ageBin) return t.skip('age is not installed');
      const dir = mkdtempSync(join(tmpdir(), 'wharf-k8s-sops-'));
      const wharf = () =>
        execa(process.execPath, [join(repoRoot, 'bin', 'wharf.js'), 'render', '--target', 'k8s'], {
          cwd: dir,
          reject: false,
          env: { NO_COLOR: '1' },
        });
      try {
        writeFileSync(join(dir, 'wharf.yaml'), readFileSync(join(repoRoot, 'templates', `${template}.yaml`)));
        const r = await wharf();
        assert.equal(r.exitCode, 0, r.stderr);
        const out = join(dir, '.wharf', 'k8s');
        const secretsDir = join(dir, '.wharf', 'secrets');
        const keyFile = join(secretsDir, 'sops-age-key');
        const identity = readFileSync(keyFile, 'utf8')
          .split('\n')
          .find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
        assert.match(r.stdout, /kubectl -n flux-system create secret generic sops-age --from-file=age\.agekey=/);
        const recipient = /age: (age1\w+)/.exec(readFileSync(join(out, '.sops.yaml'), 'utf8'))![1]!;
        const { plan } = loadVariant({ template });
        const needed = secretsNeeded(plan);
        assert.ok(needed.length >= 3);
        const files = needed.map((n) => join(out, 'apps', 'base', `secret-${n}.sops.yaml`));
        for (const [i, name] of needed.entries()) {
          const text = readFileSync(files[i]!, 'utf8');
          const value = readFileSync(join(secretsDir, name), 'utf8');
          const doc = parseAllDocuments(text)[0]!.toJS() as Doc;
          assert.deepEqual(
            doc.sops.age.map((a: Doc) => a.recipient),
            [recipient],
          );
          // an independent SOPS implementation opens it to exactly the generated value
          const opened = (await decryptSops(text, { secretKey: identity, fileType: 'yaml' })) as Doc;
          assert.equal(opened.stringData[name], value, `${name} opens to its value`);
          assert.deepEqual({ ...opened.metadata }, { name, namespace: plan.name });
          // the real age binary opens the data key; with it the MAC sops checks holds
          const keyPath = join(dir, 'data-key.age');
          writeFileSync(keyPath, doc.sops.age[0].enc);
          const agekey = join(dir, 'id.txt');
          writeFileSync(agekey, `${identity}\n`, { mode: 0o600 });
          // the key is raw bytes: a final 0x0a is part of it
          const dk: { stdout: Uint8Array } = await execa(ageBin, ['-d', '-i', agekey, keyPath], {
            encoding: 'buffer',
            stripFinalNewline: false,
          });
          assert.equal(dk.stdout.length, 32);
          assert.equal(aesGcmOpen(doc.sops.mac, Buffer.from(dk.stdout), doc.sops.lastmodified), sopsMac(opened));
          assert.equal(aesGcmOpen(doc.stringData[name], Buffer.from(dk.stdout), `stringData:${name}:`), value);
        }
        // K8S002 reads the tree on disk: every Secret carries SOPS metadata
        const onDisk = listFiles(out)
          .filter((p) => p.endsWith('.yaml') && !p.endsWith('/kustomization.yaml') && !p.endsWith('/.sops.yaml'))
          .flatMap((p) => parseAllDocuments(readFileSync(p, 'utf8')).map((d) => ({ file: relative(out, p), doc: d.toJS() as Doc })));
        assert.equal(onDisk.filter((d) => d.doc.kind === 'Secret').length, needed.length);
        assert.deepEqual(
          checkK8sDocuments(onDisk).filter((f) => f.rule === 'K8S002'),
          [],
        );
        assert.ok(!listFiles(out).some((p) => readFileSync(p, 'utf8').includes(identity)), 'the age identity is never in the tree');
        // kustomize keeps each Secret's SOPS metadata: Flux decrypts what the build emits
        const built = await execa(toolPath('kubectl')!, ['kustomize', join(out, k8sPaths.overlay(plan))]);
        const builtSecrets = parseAllDocuments(built.stdout)
          .map((x) => x.toJS() as Doc)
          .filter((d) => d.kind === 'Secret');
        assert.deepEqual(builtSecrets.map((d) => d.metadata.name).sort(), [...needed].sort());
        for (const d of builtSecrets)
          assert.equal(
            d.sops.mac,
            (parseAllDocuments(readFileSync(join(out, 'apps', 'base', `secret-${d.metadata.name}.sops.yaml`), 'utf8'))[0]!.toJS() as Doc)
              .sops.mac,
          );
        // a second render leaves every sealed file as it was; a changed secret is sealed anew, alone
        const before = files.map((f) => readFileSync(f, 'utf8'));
        assert.equal((await wharf()).exitCode, 0);
        assert.deepEqual(
          files.map((f) => readFileSync(f, 'utf8')),
          before,
        );
        writeFileSync(join(secretsDir, needed[0]!), 'a-changed-value-0123456789');
        assert.equal((await wharf()).exitCode, 0);
        const after = files.map((f) => readFileSync(f, 'utf8'));
        assert.notEqual(after[0], before[0]);
        assert.deepEqual(after.slice(1), before.slice(1));
        const reopened = (await decryptSops(after[0]!, { secretKey: identity, fileType: 'yaml' })) as Doc;
        assert.equal(reopened.stringData[needed[0]!], 'a-changed-value-0123456789');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

// The k8s target offline: the real `kubectl kustomize` builds every directory of every variant
// and emits every document of it. The documents themselves: k8s-documents.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { k8sPaths } from './index.js';
import { toolPath } from '../../../test/support/tools.js';
import { type Doc, docsOf, k8sVariants, render, writeTree } from '../../../test/support/k8s-tree.js';

for (const v of k8sVariants) {
  test(`k8s: kubectl kustomize builds every directory of ${v.id}`, { timeout: 120_000 }, async (t) => {
    const kubectl = toolPath('kubectl');
    if (!kubectl) return t.skip('kubectl (kubernetes-client) is not installed');
    const { plan, files } = render(v.id);
    const dir = mkdtempSync(join(tmpdir(), 'wharf-k8s-'));
    try {
      writeTree(dir, files);
      const dirs = files
        .filter((f) => f.path.endsWith('kustomization.yaml'))
        .map((f) => dirname(f.path))
        .sort();
      // cert-manager for issuers (every template), Strimzi only with messaging
      assert.deepEqual(
        dirs,
        [
          'apps/base',
          k8sPaths.overlay(plan),
          k8sPaths.cluster(plan),
          k8sPaths.infra,
          ...(plan.tls.mode === 'files' ? [] : [k8sPaths.controllers]),
        ].sort(),
      );
      for (const d of dirs) {
        const r: { exitCode?: number; stderr: string; stdout: string } = await execa(kubectl, ['kustomize', join(dir, d)], {
          reject: false,
        });
        assert.equal(r.exitCode, 0, `kubectl kustomize ${d}: ${r.stderr}`);
        const built = parseAllDocuments(r.stdout).map((x) => x.toJS() as Doc);
        const own = docsOf(files.filter((f) => f.path.startsWith(`${d === k8sPaths.overlay(plan) ? 'apps/base' : d}/`)));
        assert.equal(built.length, own.length, `${d}: kustomize emits every document of the directory`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

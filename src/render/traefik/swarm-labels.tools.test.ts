// Traefik on Swarm: `docker stack config` (the client alone, no engine) shows the service
// labels survive the stack file's interpolation. The labels decoded and held to Traefik's
// schemas: swarm-labels.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { STACK_FILE } from '../swarm/index.js';
import { type Doc, render, variants } from '../../../test/support/traefik-swarm.js';
import { traefikSwarmLabels } from './swarm-labels.js';

test('docker stack config resolves the labels to exactly what the plan meant ($ in HostRegexp survives interpolation)', async () => {
  const { plan, files } = render(variants.find((v) => v.id === 'api/features')!);
  const root = mkdtempSync(join(tmpdir(), 'wharf-traefik-labels-'));
  try {
    for (const f of files) {
      mkdirSync(dirname(join(root, f.path)), { recursive: true });
      writeFileSync(join(root, f.path), f.contents);
    }
    const secrets = join(root, plan.paths.secretsDir);
    mkdirSync(secrets, { recursive: true });
    for (const s of plan.secrets) writeFileSync(join(secrets, s.name), 'x');
    const r = await execa('docker', ['stack', 'config', '-c', STACK_FILE], {
      cwd: root,
      reject: false,
      env: { DOCKER_HOST: 'unix:///nonexistent.sock' },
    });
    assert.equal(r.exitCode, 0, r.stderr);
    const resolved = parse(r.stdout) as Doc;
    const want = traefikSwarmLabels(plan);
    assert.ok(
      Object.values(want.api!).some((x) => x.includes('$')),
      'the wildcard rule has a $ to survive',
    );
    for (const [svc, labels] of Object.entries(want)) {
      const got = Object.fromEntries(
        Object.entries<string>(resolved.services[svc].deploy.labels).filter(([k]) => k.startsWith('traefik.')),
      );
      assert.deepEqual(got, labels, svc);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

// wharf secrets and wharf secrets rotate through the CLI's boundary, in-process with a recording
// executor: ages listed; a name that cannot be rotated, or a target that cannot rotate, is exit 2
// with nothing run and nothing written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirSnapshot, tempProject } from '../../../test/support/project.js';
import { templateText } from '../../../test/support/templates.js';
import { wharfInProcess } from '../../../test/support/cli-in-process.js';

const wharf = wharfInProcess;

test('wharf secrets: an age and a rotation count per secret, "not made yet" before render', async () => {
  const p = tempProject(templateText('api'));
  try {
    const r = await wharf(p.spec, 'secrets');
    assert.equal(r.code, 0, r.text);
    assert.match(r.text, /secret\W+purpose\W+file\W+age\W+rotations/);
    assert.match(r.text, /db-password\W.*not made yet\W+0\W/);
  } finally {
    p.cleanup();
  }
});

test('wharf secrets rotate: an unknown or unrotatable name, or the swarm target, is exit 2; nothing run, nothing written', async () => {
  const p = tempProject(templateText('api'));
  try {
    const before = dirSnapshot(p.dir);
    const cases: Array<[string[], RegExp]> = [
      [['secrets', 'rotate', 'nope'], /nope: no such secret in this stack \(rotatable: backup-restic-password, cache-password/],
      [['secrets', 'rotate', 'grafana-admin-password'], /grafana-admin-password: this secret cannot be rotated by wharf yet/],
      [['secrets', 'rotate', 'db-password', '--target', 'swarm'], /swarm/],
    ];
    for (const [args, message] of cases) {
      const r = await wharf(p.spec, ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.text}`);
      assert.match(r.text, message);
      assert.deepEqual(r.calls, []);
    }
    assert.deepEqual(dirSnapshot(p.dir), before);
  } finally {
    p.cleanup();
  }
});

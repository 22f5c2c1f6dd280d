import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseJsonRun, parseRecap, playbookCmd, progressOf } from './ansible.js';
import { run } from './run.js';
import { requireTool, toolPath } from '../../test/support/tools.js';

test('ansible-playbook commands: exact argv, run in the project, colour off, json only when asked', () => {
  const c = playbookCmd('/p/.wharf/cluster', 'site.yml', { inventories: ['/t/hosts.yml'], limit: 'n1', tags: ['wireguard', 'firewall'] });
  assert.deepEqual(c.argv, [
    'ansible-playbook',
    '-i',
    'inventory.yml',
    '-i',
    '/t/hosts.yml',
    '--limit',
    'n1',
    '--tags',
    'wireguard,firewall',
    'site.yml',
  ]);
  assert.equal(c.cwd, '/p/.wharf/cluster');
  assert.equal(c.env?.ANSIBLE_NOCOLOR, '1');
  assert.equal(c.env?.ANSIBLE_STDOUT_CALLBACK, undefined);
  assert.deepEqual(playbookCmd('/p', 'preflight.yml', { json: true }).argv, ['ansible-playbook', '-i', 'inventory.yml', 'preflight.yml']);
  assert.equal(playbookCmd('/p', 'preflight.yml', { json: true }).env?.ANSIBLE_STDOUT_CALLBACK, 'json');
});

// A playbook on this machine's own loopback (connection local) that changes one thing
// (a file in a temporary directory), leaves one alone and skips one.
const playbook = (dir: string) => `---
- name: Recap probe
  hosts: all
  gather_facts: false
  tasks:
    - name: Write a file
      ansible.builtin.copy: { dest: "${dir}/probe.txt", content: "x\\n", mode: "0644" }
    - name: Read it
      ansible.builtin.command: { argv: [cat, "${dir}/probe.txt"] }
      changed_when: false
    - name: Never
      ansible.builtin.debug: { msg: never }
      when: false
`;

test('recap, progress and json results read from real ansible-playbook runs', async (t) => {
  const skip = requireTool(!!toolPath('ansible-playbook'), 'ansible-playbook');
  if (skip) return t.skip(skip);
  const dir = mkdtempSync(join(tmpdir(), 'wharf-ansible-'));
  try {
    writeFileSync(join(dir, 'probe.yml'), playbook(dir));
    writeFileSync(
      join(dir, 'inventory.yml'),
      'all:\n  hosts:\n    probe-host:\n      ansible_connection: local\n      ansible_python_interpreter: /usr/bin/python3\n',
    );
    const lines: string[] = [];
    const first = await run(playbookCmd(dir, 'probe.yml'), { onLine: (l) => lines.push(l) });
    assert.deepEqual(parseRecap(first.stdout), [
      { host: 'probe-host', ok: 2, changed: 1, unreachable: 0, failed: 0, skipped: 1, rescued: 0, ignored: 0 },
    ]);
    const events = lines.map(progressOf).filter(Boolean);
    assert.deepEqual(
      events.filter((e) => e!.kind === 'task').map((e) => (e as { name: string }).name),
      ['Write a file', 'Read it', 'Never'],
    );
    assert.ok(events.some((e) => e?.kind === 'host' && e.status === 'changed' && e.host === 'probe-host'));
    assert.equal(parseRecap((await run(playbookCmd(dir, 'probe.yml'))).stdout)[0]!.changed, 0, 'the second run changes nothing');

    const json = parseJsonRun((await run(playbookCmd(dir, 'probe.yml', { json: true }))).stdout);
    assert.equal(json.tasks.get('Read it')?.get('probe-host')?.stdout, 'x');
    assert.equal(json.tasks.get('Never')?.get('probe-host')?.skipped, true);
    assert.equal(json.stats['probe-host']?.unreachable, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// bench/up's idle memory: `docker stats` figures parsed, 0 B taken as "the engine read nothing"
// (dockerd in a nested cgroup v1 namespace reports 0B / 0B), and the cgroup v1/v2 files read as docker does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cgroupDir, cgroupMiB, statsMiB } from '../../bench/memory.js';

test('docker stats MemUsage: binary and decimal units; 0B / 0B is no reading, not 0 MiB', () => {
  assert.equal(statsMiB('12.5MiB / 1GiB'), 12.5);
  assert.equal(statsMiB('1.5GiB / 2GiB'), 1536);
  assert.equal(statsMiB('512KiB / 64MiB'), 0.5);
  assert.equal(statsMiB('0B / 0B'), undefined);
  assert.equal(statsMiB('--'), undefined);
});

test('the cgroup files: v1 usage less total_inactive_file, v2 current less inactive_file', () => {
  const v1stat = 'cache 4096\nrss 106496\ninactive_file 4096\ntotal_rss 106496\ntotal_inactive_file 1048576\n';
  assert.equal(cgroupMiB({ usage: `${3 * 1048576}\n`, stat: v1stat }), 2);
  assert.equal(cgroupMiB({ current: `${5 * 1048576}\n`, stat: 'anon 4194304\ninactive_file 1048576\n' }), 4);
  assert.equal(cgroupMiB({ stat: v1stat }), undefined);
});

test('where a process memory cgroup is: v1 memory controller line, v2 unified line', () => {
  const v1 = '13:hugetlb:/\n4:memory:/docker/4bf7f2e4\n1:name=systemd:/docker/4bf7f2e4\n';
  assert.equal(cgroupDir(v1), '/sys/fs/cgroup/memory/docker/4bf7f2e4');
  assert.equal(cgroupDir('0::/system.slice/docker-4bf7f2e4.scope\n'), '/sys/fs/cgroup/system.slice/docker-4bf7f2e4.scope');
  assert.equal(cgroupDir('5:cpu,cpuacct:/x\n'), undefined);
});

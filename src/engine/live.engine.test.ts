// What a failing healthcheck says, read from a real engine's inspect output: a check that prints
// nothing must still say how it failed (doctor, up and rollout quote it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { dockerSkipReason } from '../../test/e2e/support/images.js';
import { parseInspect } from './live.js';

const skip = dockerSkipReason();

test('a silent failing healthcheck reads "exit code N, no output"; a talking one its last output', { skip, timeout: 120_000 }, async () => {
  const run = randomBytes(3).toString('hex');
  const silent = `wharf-health-silent-${run}`;
  const talking = `wharf-health-talking-${run}`;
  const start = (name: string, cmd: string) =>
    execa('docker', [
      'run',
      '-d',
      '--name',
      name,
      '--network',
      'none',
      '--health-cmd',
      cmd,
      '--health-interval',
      '1s',
      '--health-retries',
      '1',
      '--health-timeout',
      '2s',
      'local/debian:bookworm',
      'sleep',
      '120',
    ]);
  try {
    await start(silent, 'exit 3');
    await start(talking, 'echo "connect: refused on 3999"; exit 1');
    const deadline = Date.now() + 60_000;
    let states = parseInspect((await execa('docker', ['inspect', silent, talking])).stdout, { serviceOf: () => 'web' });
    while (states.some((c) => c.health !== 'unhealthy') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      states = parseInspect((await execa('docker', ['inspect', silent, talking])).stdout, { serviceOf: () => 'web' });
    }
    const by = new Map(states.map((c) => [c.name, c]));
    assert.equal(by.get(silent)?.health, 'unhealthy');
    assert.equal(by.get(silent)?.healthLog, 'exit code 3, no output');
    assert.equal(by.get(talking)?.healthLog, 'connect: refused on 3999');
  } finally {
    await execa('docker', ['rm', '-f', '-v', silent, talking], { reject: false });
  }
});

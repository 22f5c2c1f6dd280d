// Durations and sizes are parsed once, by the schema; bad input is an issue naming its path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpecText } from './load.js';
import { Duration, Size } from './units.js';

test('Duration: number-unit pairs, in seconds, written back as given', () => {
  for (const [text, secs] of [
    ['15s', 15],
    ['1m30s', 90],
    ['500ms', 0.5],
    ['15d', 1_296_000],
    ['1h30m', 5400],
  ] as const) {
    const d = Duration.parse(text);
    assert.equal(d.toSeconds(), secs, text);
    assert.equal(d.toString(), text);
    assert.equal(JSON.stringify({ d }), `{"d":"${text}"}`);
  }
  assert.equal(Duration.parse('500ms').toWholeSeconds(1), 1);
  for (const bad of ['', '5', '1.5s', 's', '10sx', '-5s']) assert.throws(() => Duration.parse(bad), /not a duration/, bad);
});

test('Size: binary multiples, as Compose and Kubernetes write them', () => {
  const s = Size.parse('256M');
  assert.equal(s.toBytes(), 256 * 1024 ** 2);
  assert.equal(s.toByteUnits(), '256mb');
  assert.equal(s.toQuantity(), '256Mi');
  assert.equal(s.divideWhole(2).toString(), '128M');
  assert.equal(Size.parse('1.5G').toQuantity(), '1.5Gi');
  assert.equal(Size.parse('1048576').toQuantity(), '1048576');
  assert.equal(Size.mebibytes(130 * 1024 ** 2 + 1).toString(), '131M');
  for (const bad of ['', 'x', '1T', '64mb', '-1M']) assert.throws(() => Size.parse(bad), /not a size/, bad);
});

test('the schema parses them: the stack holds values, and a bad one is an issue at its path, never 0', () => {
  const spec = (health: string, memory: string) =>
    `name: site\ndomain: site.localhost\nservices:\n  web:\n    image: nginx:1.27\n    port: 80\n` +
    `    health: { interval: ${health} }\n    resources: { memory: ${memory} }\n`;
  const ok = parseSpecText(spec('1m30s', '256M'));
  assert.ok(ok.stack, JSON.stringify(ok.issues));
  const web = ok.stack.services.web!;
  assert.ok(web.health && web.health.interval instanceof Duration && web.health.interval.toSeconds() === 90);
  assert.equal(web.resources.memory?.toBytes(), 256 * 1024 ** 2);
  const bad = parseSpecText(spec('5x', '12Q'));
  assert.equal(bad.stack, undefined);
  const paths = bad.issues
    .filter((i) => i.severity === 'error')
    .map((i) => i.path)
    .sort();
  assert.deepEqual(paths, ['services.web.health.interval', 'services.web.resources.memory']);
});

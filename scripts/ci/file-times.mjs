// node:test reporter: after the run, each test file's time (the sum of its top-level tests;
// a file's tests run one after another), slowest first, so a tier's cost has names on it.
// Each failed test is also appended to $WHARF_TEST_FAILURES (the runner reprints them last: a
// CI log shows its tail, and the failure of a 20-minute lane is far above it).
import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';

// a test file compiled by scripts/test-bundle.mjs is named by its source
const sourceOf = (file) => relative(process.cwd(), file).replace(/^\.test-build\/run-\d+\/\d+\/(.*)\.mjs$/, '$1.ts');

function noteFailure(data) {
  const out = process.env.WHARF_TEST_FAILURES;
  const err = data.details?.error;
  // a parent whose subtests failed adds nothing: its failed leaves are noted themselves
  if (!out || err?.failureType === 'subtestsFailed') return;
  const cause = err?.cause ?? err;
  const message = String(cause?.message ?? cause ?? 'failed')
    .split('\n')
    .slice(0, 6)
    .join('\n    ');
  const where = data.file ? sourceOf(data.file) : '?';
  appendFileSync(out, `not ok: ${where} > ${data.name}\n    ${message}\n`);
}

export default async function* fileTimes(source) {
  const ms = new Map();
  let shown = false;
  const table = () =>
    [
      '# file times (s):\n',
      ...[...ms].sort((a, b) => b[1] - a[1]).map(([f, t]) => `#   ${(t / 1000).toFixed(1).padStart(7)}  ${f}\n`),
    ].join('');
  for await (const { type, data } of source) {
    if (type === 'test:fail') noteFailure(data);
    if ((type === 'test:pass' || type === 'test:fail') && data.nesting === 0 && data.file) {
      const f = sourceOf(data.file);
      ms.set(f, (ms.get(f) ?? 0) + (data.details?.duration_ms ?? 0));
    }
    // The run's totals end with "todo N"; --test-force-exit may end the process before this
    // generator would finish, so the table goes out with them.
    if (type === 'test:diagnostic' && data.nesting === 0 && /^todo \d+$/.test(data.message)) {
      shown = true;
      yield table();
    }
  }
  if (!shown) yield table();
}

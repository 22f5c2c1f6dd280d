// node:test reporter: after the run, each test file's time (the sum of its top-level tests;
// a file's tests run one after another), slowest first, so a tier's cost has names on it.
import { relative } from 'node:path';

export default async function* fileTimes(source) {
  const ms = new Map();
  let shown = false;
  const table = () =>
    [
      '# file times (s):\n',
      ...[...ms].sort((a, b) => b[1] - a[1]).map(([f, t]) => `#   ${(t / 1000).toFixed(1).padStart(7)}  ${f}\n`),
    ].join('');
  for await (const { type, data } of source) {
    if ((type === 'test:pass' || type === 'test:fail') && data.nesting === 0 && data.file) {
      const f = relative(process.cwd(), data.file);
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

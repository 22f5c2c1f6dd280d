// Where a no-op `wharf up` / `wharf status` spends its time: every command with its start and duration.
import { targetContext } from '../../src/engine/context.js';
import { detectCompose } from '../../src/engine/detect.js';
import { formatCmd } from '../../src/engine/command.js';
import { run, type Runner } from '../../src/engine/run.js';
import { load, prepare, targetDir } from '../../src/ops/prepare.js';
import { status } from '../../src/ops/status.js';
import { up } from '../../src/ops/up.js';

const specPath = process.argv[2]!;
const t0 = performance.now();
const log: string[] = [];
const runner: Runner = async (c, o) => {
  const s = performance.now();
  const r = await run(c, o);
  log.push(`${(s - t0).toFixed(0).padStart(6)} +${(performance.now() - s).toFixed(0).padStart(5)} ms  ${formatCmd(c).slice(0, 150)}`);
  return r;
};
const loaded = await load(specPath);
const compose = await detectCompose(runner);
const tl = performance.now();
const l = await prepare({ specPath, target: 'compose', loaded, render: { composeKind: compose.kind } });
const tr = performance.now();
const ctx = await targetContext({
  target: 'compose',
  plan: l.plan,
  stack: l.stack,
  outDir: targetDir(l.layout, 'compose'),
  projectDir: l.layout.projectDir,
  secretsDir: l.layout.secretsDir,
  compose,
  runner,
});
const tu = performance.now();
await (process.argv[3] === 'status' ? status(ctx) : up(ctx));
console.log(log.join('\n'));
console.log(`load+detect ${(tl - t0).toFixed(0)} ms, render ${(tr - tl).toFixed(0)} ms, op ${(performance.now() - tu).toFixed(0)} ms`);

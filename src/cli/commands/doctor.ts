// wharf doctor: every check of the running stack, never stopping at the first failure.
import { action, fileOption, hostOption, jsonOption, type Register } from '../command.js';
import { table } from '../format/table.js';
import { opsContext, type TargetFlags } from '../stack.js';
import { withTargets } from '../targets.js';
import { renderedNow } from './plan.js';

const mark = { ok: '✓', warn: '!', fail: '✗', skip: '-' } as const;

export const registerDoctor: Register = (program, cli) => {
  const c = program
    .command('doctor')
    .description('diagnose the stack: engine, ports, health, DNS between services, routes, monitoring, disk')
    .addOption(fileOption())
    .addOption(hostOption())
    .addOption(jsonOption());
  withTargets(c, 'doctor').action(
    action(cli, async (o: TargetFlags & { json: boolean }) => {
      const ctx = await opsContext('doctor', o, cli.io, { render: false });
      const { doctor } = await import('../../ops/doctor.js');
      // drift needs the files as up would render them now (never written)
      const files = ctx.secretsDir ? await renderedNow(ctx, ctx.secretsDir) : undefined;
      const r = await doctor(ctx, files ? { files } : {});
      const out = cli.io.out;
      if (o.json) {
        out.log(JSON.stringify(r, null, 2));
      } else {
        const rows = r.checks.map((x) => [mark[x.status], x.title, [x.detail, ...(x.lines ?? []).slice(-5)].join('\n'), x.hint ?? '']);
        out.log(table(['', 'check', 'result', 'fix'], rows));
        const s = r.summary;
        out.log(`${s.ok} ok, ${s.warn} warnings, ${s.fail} failed, ${s.skip} skipped`);
      }
      return r.ok ? 'ok' : 'failed';
    }),
  );
};

// wharf check: the spec validated, then linted against the policy of its target.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Option } from 'commander';
import { validateSpecFile } from '../../check/validate.js';
import { resolveSpecPath } from '../../ops/prepare.js';
import type { Target } from '../../render/index.js';
import { selfEntry } from '../../spec/config-file.js';
import { typeCheckConfig } from '../../spec/config-types.js';
import { action, fileOption, type Register } from '../command.js';
import { table } from '../format/table.js';
import { refuseUnsupported, withTargets } from '../targets.js';

interface Flags {
  file?: string;
  format: 'text' | 'json';
  strict: boolean;
  target?: Target;
}

export const registerCheck: Register = (program, cli) => {
  const c = program
    .command('check')
    .description('validate the spec and lint it against the security and reliability policy')
    .addOption(fileOption())
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--strict', 'fail on warnings too', false);
  withTargets(c, 'check').action(
    action(cli, async (o: Flags) => {
      if (o.target) refuseUnsupported('check', o.target, 'option');
      const specPath = resolveSpecPath(o.file);
      // The same validation render and up refuse on, plus the target's own rules.
      const targetOf = (stack?: { target?: Target }) => o.target ?? stack?.target ?? 'compose';
      const {
        res,
        plan,
        issues: found,
      } = await validateSpecFile(specPath, async (stack) => {
        const target = targetOf(stack);
        const tree = target === 'k8s' ? join(dirname(specPath), '.wharf', 'k8s') : undefined;
        const k8sTree = tree && existsSync(tree) ? (await import('../../check/k8s-rules.js')).readK8sTree(tree) : undefined;
        return { target, extra: { k8sTree } };
      });
      const typeIssues = specPath.endsWith('.ts') ? typeCheckConfig(specPath, selfEntry().types) : [];
      const specErrors = [...found.filter((i) => i.rule === 'spec'), ...typeIssues].filter((i) => i.severity === 'error');
      const target = targetOf(res.stack);
      const all = [...typeIssues.map((i) => ({ ...i, rule: 'types' })), ...found];
      const failed = specErrors.length > 0 || all.some((f) => f.severity === 'error' || (o.strict && f.severity === 'warning'));
      const apps = plan ? plan.components.filter((x) => x.role === 'app') : [];
      const health = apps.map((x) => ({ service: x.name, probe: x.healthProbe ?? 'none' }));
      const out = cli.io.out;
      if (o.format === 'json') {
        out.log(JSON.stringify({ file: specPath, ok: !failed, issues: all, health }, null, 2));
      } else {
        const where = (f: (typeof all)[number]) => `${f.line ? `${f.file}:${f.line}:${f.column} ` : f.file ? `${f.file} ` : ''}${f.path}`;
        const rows = all.map((f) => [f.rule, f.severity, where(f), f.message, f.hint ?? '']);
        if (all.length) out.log(table(['rule', 'severity', 'where', 'problem', 'fix'], rows));
        if (health.length)
          out.log(
            table(
              ['service', 'health probe'],
              health.map((h) => [h.service, h.probe]),
            ),
          );
        if (!all.length) out.log(`${specPath}: valid, no policy findings (target ${target})`);
      }
      return specErrors.length ? 'invalid' : failed ? 'failed' : 'ok';
    }),
  );
};

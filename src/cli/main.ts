// The wharf command line. Commands parse options, call one op, and print its
// structured result; exit 2 for bad input, 1 for failed operations.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, Option } from 'commander';
import { lint, rulesFor } from '../check/policy.js';
import { checkLoaded } from '../check/plan-rules.js';
import { buildPlan } from '../plan/build.js';
import { load, planPaths, prepare, resolveSpecPath } from '../ops/prepare.js';
import { jsonSchema } from '../spec/schema.js';
import { UserInputError } from '../spec/issues.js';
import { loadSpecFile, splitPath } from '../spec/load.js';
import { typeCheckConfig } from '../spec/config-types.js';
import { selfEntry } from '../spec/config-file.js';
import { SPEC_VERSION } from '../spec/migrate.js';
import { migrateSpecFile } from '../ops/migrate.js';
import { targets, type Target } from '../render/index.js';
import { init, templateNames } from './init.js';
import { printIssues, stdio, table, type Out } from './output.js';
import { EXIT } from './exit.js';
import { registerBackups, registerOps, targetOpt } from './ops.js';
import { registerCluster } from './cluster.js';

export { EXIT };

export function program(out: Out = stdio): Command {
  const cmd = new Command('wharf')
    .description('One validated spec -> a whole container platform: edge proxy, services, databases, monitoring, backups.')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  cmd.configureOutput({ writeOut: (s) => out.log(s.replace(/\n$/, '')), writeErr: (s) => out.error(s.replace(/\n$/, '')) });
  const fileOpt = () => new Option('-f, --file <path>', 'spec file (default: wharf.yaml or wharf.config.ts in the current directory)');

  cmd.command('init')
    .description('write a starter wharf.yaml (or wharf.config.ts) from a template; adds wharf:up and wharf:check to an existing package.json')
    .addOption(new Option('-t, --template <name>', 'template').default('api'))
    .option('--dir <dir>', 'project directory', '.')
    .option('--ts', 'write wharf.config.ts (export default defineStack({...})) instead of wharf.yaml', false)
    .option('--force', 'overwrite an existing spec file', false)
    .action((o: { template: string; dir: string; force: boolean; ts: boolean }) => {
      const r = init(o.dir, o.template, o.force, { ts: o.ts });
      out.log(`created ${r.created.join(', ')} from template "${o.template}" (templates: ${templateNames().join(', ')})`);
      if (r.kept.length) out.log(`kept your own ${r.kept.join(', ')}`);
      out.log('next: `wharf check`, then `wharf up`');
    });

  cmd.command('schema')
    .description('print the JSON Schema of wharf.yaml (for editor completion and validation)')
    .action(() => { out.log(JSON.stringify(jsonSchema(), null, 2)); });

  cmd.command('check')
    .description('validate the spec and lint it against the security and reliability policy')
    .addOption(fileOpt())
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--strict', 'fail on warnings too', false)
    .addOption(targetOpt())
    .action(async (o: { file?: string; format: 'text' | 'json'; strict: boolean; target?: Target }) => {
      const specPath = resolveSpecPath(o.file);
      const res = await loadSpecFile(specPath);
      const plan = res.stack && !res.issues.some((i) => i.severity === 'error') ? buildPlan(res.stack, planPaths) : undefined;
      const issues = [...res.issues, ...(plan && res.stack ? checkLoaded({ ...res, stack: res.stack }, plan) : [])];
      const typeIssues = specPath.endsWith('.ts') ? typeCheckConfig(specPath, selfEntry().types) : [];
      const specErrors = [...issues, ...typeIssues].filter((i) => i.severity === 'error');
      const target = o.target ?? res.stack?.target ?? 'compose';
      const tree = target === 'k8s' ? join(dirname(specPath), '.wharf', 'k8s') : undefined;
      const k8sTree = tree && existsSync(tree) ? (await import('../check/k8s-rules.js')).readK8sTree(tree) : undefined;
      const findings = plan && res.stack && !specErrors.length
        ? lint(res.stack, plan, await rulesFor(target), { k8sTree }).map((f) => ({ ...f, ...res.place?.(splitPath(f.path)) }))
        : [];
      const all = [...typeIssues.map((i) => ({ ...i, rule: 'types' })), ...issues.map((i) => ({ ...i, rule: 'spec' })), ...findings];
      const failed = specErrors.length > 0 || all.some((f) => f.severity === 'error' || (o.strict && f.severity === 'warning'));
      const health = plan ? plan.components.filter((c) => c.role === 'app').map((c) => ({ service: c.name, probe: c.healthProbe ?? 'none' })) : [];
      if (o.format === 'json') {
        out.log(JSON.stringify({ file: specPath, ok: !failed, issues: all, health }, null, 2));
      } else {
        if (all.length) out.log(table(['rule', 'severity', 'where', 'problem', 'fix'], all.map((f) => [f.rule, f.severity, `${f.line ? `${f.file}:${f.line}:${f.column} ` : f.file ? `${f.file} ` : ''}${f.path}`, f.message, f.hint ?? ''])));
        if (health.length) out.log(table(['service', 'health probe'], health.map((h) => [h.service, h.probe])));
        if (!all.length) out.log(`${specPath}: valid, no policy findings (target ${target})`);
      }
      process.exitCode = specErrors.length ? EXIT.input : failed ? EXIT.failed : EXIT.ok;
    });

  cmd.command('migrate')
    .description(`rewrite a spec written for an older spec version into version ${SPEC_VERSION}`)
    .addOption(fileOpt())
    .option('--dry-run', 'say what would change, write nothing', false)
    .action(async (o: { file?: string; dryRun: boolean }) => {
      const r = await migrateSpecFile(resolveSpecPath(o.file), { dryRun: o.dryRun });
      if (!r.steps.length) out.log(`${r.file}: already spec version ${r.to}, nothing to do`);
      else out.log(`${r.file}: version ${r.from} -> ${r.to}${r.written ? '' : ' (dry run, not written)'}\n${r.steps.map((s) => `  - ${s}`).join('\n')}`);
    });

  cmd.command('render')
    .description('render compose.yaml (or the swarm stack.yaml, or the k8s Flux tree) and every config file into .wharf/<target>, generating missing secrets')
    .addOption(fileOpt())
    .addOption(targetOpt())
    .action(async (o: { file?: string; target?: Target }) => {
      const p = await prepare({ specPath: resolveSpecPath(o.file), target: o.target });
      printIssues(out, p.warnings);
      const changed = new Set(p.write.written);
      out.log(table(['file', 'state'], p.files.map((f) => [f.path, changed.has(f.path) ? 'written' : 'unchanged'])));
      if (p.write.removed.length) out.log(`removed stale files: ${p.write.removed.join(', ')}`);
      out.log(`${p.files.length} files in ${p.outDir}; secrets in ${p.secretsDir} (${p.secrets.created.length} created, ${p.secrets.kept.length} kept)`);
      if (p.ageKeyPath) out.log(`Secrets are SOPS-encrypted to the age key ${p.ageKeyPath}; give Flux the key once:\n  kubectl -n flux-system create secret generic sops-age --from-file=age.agekey=${p.ageKeyPath}`);
    });

  cmd.command('secrets')
    .description('list the stack\'s secrets: names, purpose and file paths (never values)')
    .addOption(fileOpt())
    .action(async (o: { file?: string }) => {
      const l = await load(resolveSpecPath(o.file));
      out.log(table(['secret', 'purpose', 'file'], l.plan.secrets.map((s) => [s.name, s.purpose, `${l.layout.secretsDir}/${s.name}`])));
    });

  registerOps(cmd, out, fileOpt);
  registerBackups(cmd, out, fileOpt);
  registerCluster(cmd, out, fileOpt);
  return cmd;
}

export async function main(argv = process.argv, out: Out = stdio): Promise<number> {
  try {
    await program(out).parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) return EXIT.input;
    if (err instanceof UserInputError) {
      printIssues(out, err.issues);
      return err.issues.some((i) => i.severity === 'error') ? EXIT.input : EXIT.ok;
    }
    out.error(`wharf: ${(err as Error).message}`);
    if (process.env.WHARF_DEBUG) out.error((err as Error).stack ?? '');
    return EXIT.failed;
  }
}

// wharf render: every file of the target into .wharf/<target>, missing secrets generated.
import { prepare } from '../../ops/prepare.js';
import { action, fileOption, type Register } from '../command.js';
import { printIssues } from '../format/issues.js';
import { table } from '../format/table.js';
import { loadTargeted, type TargetFlags } from '../stack.js';
import { withTargets } from '../targets.js';

export const registerRender: Register = (program, cli) => {
  const c = program
    .command('render')
    .description(
      'render compose.yaml (or the swarm stack.yaml, or the k8s Flux tree) and every config file into .wharf/<target>, generating missing secrets',
    )
    .addOption(fileOption());
  withTargets(c, 'render').action(
    action(cli, async (o: TargetFlags) => {
      const { specPath, loaded, target } = await loadTargeted('render', o);
      const p = await prepare({ specPath, target, loaded });
      const out = cli.io.out;
      printIssues(out, p.warnings);
      const changed = new Set(p.write.written);
      out.log(
        table(
          ['file', 'state'],
          p.files.map((f) => [f.path, changed.has(f.path) ? 'written' : 'unchanged']),
        ),
      );
      if (p.write.removed.length) out.log(`removed stale files: ${p.write.removed.join(', ')}`);
      if (p.write.kept.length) out.log(`left in place (no longer rendered, not provably written by wharf): ${p.write.kept.join(', ')}`);
      const made = `${p.secrets.created.length} created, ${p.secrets.kept.length} kept`;
      out.log(`${p.files.length} files in ${p.outDir}; secrets in ${p.secretsDir} (${made})`);
      if (p.ageKeyPath) {
        out.log(`Secrets are SOPS-encrypted to the age key ${p.ageKeyPath}; give Flux the key once:`);
        out.log(`  kubectl -n flux-system create secret generic sops-age --from-file=age.agekey=${p.ageKeyPath}`);
      }
    }),
  );
};

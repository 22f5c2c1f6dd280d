// wharf secrets: names, purposes, files and ages of the stack's secrets (never values);
// wharf secrets rotate <name>: a new value, taken by the services with no failed request.
import { load, resolveSpecPath } from '../../ops/prepare.js';
import { action, fileOption, hostOption, type Register } from '../command.js';
import { table } from '../format/table.js';
import { loadTargeted, opsContext, type TargetFlags } from '../stack.js';
import { withTargets } from '../targets.js';
import { addSecretsTransfer } from './secrets-transfer.js';

export const registerSecrets: Register = (program, cli) => {
  const secrets = program
    .command('secrets')
    .description("list the stack's secrets: names, purpose, file paths and age (never values)")
    .addOption(fileOption())
    .action(
      action(cli, async (o: { file?: string }) => {
        const l = await load(resolveSpecPath(o.file));
        const { formatAge, secretAges } = await import('../../ops/rotate-state.js');
        const ages = new Map(secretAges(l.plan, l.layout.secretsDir, l.layout.projectDir).map((a) => [a.secret, a]));
        const now = Date.now();
        const rows = l.plan.secrets.map((s) => {
          const a = ages.get(s.name);
          const age = a?.since === undefined ? 'not made yet' : formatAge(now - a.since);
          return [s.name, s.purpose, `${l.layout.secretsDir}/${s.name}`, age, String(a?.rotations ?? 0)];
        });
        cli.io.out.log(table(['secret', 'purpose', 'file', 'age', 'rotations'], rows));
      }),
    );
  const rotate = secrets
    .command('rotate')
    .description(
      'give a generated secret a new value with no failed request: database and cache passwords (both accepted while the ' +
        'services roll, then the old revoked), the edge password and self-signed certificate (reloaded live), the restic password (new key, old removed)',
    )
    .argument('<name>', 'the secret (see `wharf secrets`)')
    .addOption(fileOption())
    .addOption(hostOption());
  withTargets(rotate, 'secrets rotate').action(
    action(cli, async (name: string, flags: TargetFlags) => {
      // `--file` after the subcommand may be taken by `secrets` itself: read both levels
      const o = { ...rotate.optsWithGlobals<TargetFlags>(), ...flags };
      const targeted = await loadTargeted('secrets rotate', o);
      const { rotationOf, rotateSecret } = await import('../../ops/rotate.js');
      rotationOf(targeted.loaded.plan, name); // an unknown or unrotatable name: exit 2 before anything runs
      // refuses what the target's policy blocks, as every command that deploys does
      await opsContext('secrets rotate', o, cli.io, { render: false, loaded: targeted });
      const { targetContext } = await import('../../engine/context.js');
      const { detectCompose } = await import('../../engine/detect.js');
      const compose = targeted.target === 'compose' ? await detectCompose(cli.io.runner) : undefined;
      const r = await rotateSecret(name, {
        loaded: targeted.loaded,
        prepare: { target: targeted.target, render: compose ? { composeKind: compose.kind } : undefined },
        contextFor: (p) =>
          targetContext({
            target: targeted.target,
            plan: p.plan,
            stack: targeted.loaded.stack,
            outDir: p.outDir,
            projectDir: targeted.loaded.layout.projectDir,
            secretsDir: p.secretsDir,
            host: o.host,
            compose,
            runner: cli.io.runner,
          }),
        say: (l) => cli.io.out.error(l),
      });
      cli.io.out.log(
        `rotated ${r.secret} (${r.kind}) in ${(r.durationMs / 1000).toFixed(1)} s: new ${r.changed.join(', ')}; ` +
          `${r.kind === 'edge' ? 'reloaded' : 'rolled'} ${r.services.join(', ') || 'nothing'}`,
      );
    }),
  );
  addSecretsTransfer(secrets, cli);
};

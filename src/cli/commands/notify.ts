// wharf notify test [receiver]: a test message through Alertmanager to the spec's receivers.
import { InputError } from '../../errors.js';
import { action, fileOption, hostOption, type Register } from '../command.js';
import { loadTargeted, opsContext, type TargetFlags } from '../stack.js';
import { withTargets } from '../targets.js';

export const registerNotify: Register = (program, cli) => {
  const c = program
    .command('notify')
    .description('notifications: `wharf notify test [receiver]` sends a test message through Alertmanager (default: to every receiver)')
    .argument('[action]', 'test')
    .argument('[receiver]', 'a receiver name under monitoring.alerts.receivers')
    .addOption(fileOption())
    .addOption(hostOption());
  withTargets(c, 'notify').action(
    action(cli, async (what: string | undefined, receiver: string | undefined, o: TargetFlags) => {
      const targeted = await loadTargeted('notify', o);
      if (what !== 'test')
        throw new InputError(`wharf notify ${what ?? ''}: unknown action`.replace('  ', ' '), { hint: 'wharf notify test [receiver]' });
      const ctx = await opsContext('notify', o, cli.io, { render: false, loaded: targeted });
      const { notifyTest } = await import('../../ops/events.js');
      const r = await notifyTest(ctx, receiver);
      cli.io.out.log(`test message posted to Alertmanager for ${r.receivers.join(', ')}: check each channel`);
    }),
  );
};

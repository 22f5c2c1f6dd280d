// A Compose healthcheck as a wharf health probe: the same command, run in the container.
import type { Account } from './account.js';
import type { ComposeService } from './compose-schema.js';
import { specDuration } from './values.js';

/** A value moved out of the spec, and the shell expression that reads it back at run time. */
export interface MovedValue {
  value: string;
  read: string;
}

export function importHealth(
  p: string,
  at: string,
  hc: ComposeService['healthcheck'],
  acc: Account,
  moved: readonly MovedValue[] = [],
): Record<string, unknown> | false {
  if (!hc) return false;
  const test = hc.test ?? [];
  const path = `${p}.healthcheck`;
  if (hc.disable || test[0] === 'NONE' || !test.length) {
    acc.kept(path, `${at}.health`, 'disabled: health false');
    return false;
  }
  const command = test[0] === 'CMD-SHELL' ? ['sh', '-c', test.slice(1).join(' ')] : test[0] === 'CMD' ? test.slice(1) : test;
  if (!command.length || command.some((c) => !c)) {
    acc.dropped(path, 'an empty probe command: give health.command by hand');
    return false;
  }
  // a probe that spells out a password would put it back into wharf.yaml: the shell form reads it from its secret instead
  const leaks = moved.filter((m) => m.value.length >= 4 && command.some((c) => c.includes(m.value)));
  if (leaks.length && test[0] !== 'CMD-SHELL') {
    acc.changed(
      path,
      `${at}.health.tcp`,
      'the probe command holds a password moved to a secret: probing the port instead; give health.command by hand',
    );
    return { tcp: true };
  }
  for (const m of leaks) command[2] = command[2]!.split(m.value).join(m.read);
  const out: Record<string, unknown> = { command };
  const times = [
    ['interval', 'interval'],
    ['timeout', 'timeout'],
    ['start_period', 'startPeriod'],
  ] as const;
  for (const [k, to] of times) {
    const v = hc[k];
    if (!v) continue;
    const d = specDuration(v);
    if (d && d !== '0s') out[to] = d;
    else acc.dropped(`${path}.${k}`, `${v} is not a duration wharf accepts: the default is used`);
  }
  if (hc.retries != null && hc.retries >= 1) out.retries = Math.min(hc.retries, 100);
  if (leaks.length)
    acc.changed(path, `${at}.health`, 'the shell form runs as sh -c; the password in it is read from its secret at run time');
  else acc.kept(path, `${at}.health`, test[0] === 'CMD-SHELL' ? 'the shell form runs as sh -c' : '');
  for (const k of Object.keys(hc))
    if (!['test', 'interval', 'timeout', 'start_period', 'retries', 'disable'].includes(k) && hc[k] != null)
      acc.dropped(`${path}.${k}`, `wharf's probes have no ${k}`);
  return out;
}

// What every doctor check returns: ok/warn/fail/skip, what it saw, a machine-readable cause and a hint.
import { checkResult, type CheckOf } from '../checks.js';

export type { CheckStatus } from '../checks.js';

/** Machine-readable reason, so callers and tests need not parse prose. */
export type Cause =
  | 'engine-unreachable'
  | 'compose-missing'
  | 'config-invalid'
  | 'port-in-use'
  | 'not-running'
  | 'not-healthy'
  | 'missing'
  | 'wrong-service-name'
  | 'wrong-port'
  | 'missing-network'
  | 'dns-failure'
  | 'unreachable'
  | 'no-healthy-backend'
  | 'route-error'
  | 'metrics-exposed'
  | 'targets-down'
  | 'no-rules'
  | 'alertmanager-unreachable'
  | 'low-disk'
  | 'encrypted-overlay-unsupported'
  | 'drift';

export interface Check extends CheckOf<Cause> {
  /** the service the finding is about, when there is one */
  service?: string;
  /** supporting lines (last logs, down targets...) */
  lines?: string[];
}

export const check = (c: Omit<Check, 'ok'>): Check => checkResult(c);

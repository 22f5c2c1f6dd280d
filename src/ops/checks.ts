// The shape every diagnosis shares (doctor, doctor's cluster checks, cluster preflight): a
// status, what was seen, how to fix it, and a machine-readable cause so callers and tests
// need not parse prose.
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckOf<Cause extends string> {
  id: string;
  title: string;
  status: CheckStatus;
  ok: boolean;
  detail: string;
  hint?: string;
  cause?: Cause;
}

/** `ok` follows from the status: only a failure is not ok. */
export function checkResult<T extends { status: CheckStatus }>(c: T): T & { ok: boolean } {
  return { ...c, ok: c.status !== 'fail' };
}

// Sizes, ages and durations as people read them.

export function bytes(b?: number): string {
  if (b === undefined) return '';
  if (b >= 1 << 30) return `${(b / (1 << 30)).toFixed(2)} GiB`;
  if (b >= 1 << 20) return `${(b / (1 << 20)).toFixed(1)} MiB`;
  return `${(b / 1024).toFixed(1)} KiB`;
}

export function age(s: number): string {
  if (s < 120) return `${Math.round(s)}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

/** 1234 ms -> "1.2s" */
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

const PHASE_WORDS: Record<string, string> = {
  find: 'find snapshot',
  open: 'open repository',
  init: 'create repository',
  wait: 'wait for another run',
  manifest: 'manifest',
  dump: 'dump',
  check: 'checks',
  retention: 'retention',
  safety: 'safety snapshot',
  restore: 'restore',
  'restore-test': 'test restore',
  start: 'exec',
};

/** phase times as one line: "stopping api 1.2 s, restore 0.4 s, checks 0.8 s, api back 3.1 s" */
export function phaseLine(phases: Array<{ phase: string; service?: string; ms: number }>): string {
  const words = (p: { phase: string; service?: string }) =>
    p.phase === 'stop' ? `stopping ${p.service}` : p.phase === 'back' ? `${p.service} back` : (PHASE_WORDS[p.phase] ?? p.phase);
  return phases.map((p) => `${words(p)} ${(p.ms / 1000).toFixed(1)} s`).join(', ');
}

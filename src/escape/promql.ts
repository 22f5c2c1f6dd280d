// The one way a value enters PromQL (alert and recording rule expressions) or an
// Alertmanager matcher: a double-quoted string literal with Go escapes (\\ \" \n ...),
// which PromQL and Alertmanager matchers both parse. Regex matchers (=~) escape the
// regex first (promqlRegex), then quote.

export function promqlString(value: string): string {
  if (/\p{Cs}/u.test(value)) throw new Error('bug: a lone surrogate cannot be in a PromQL string');
  return JSON.stringify(value);
}

/** Regex (RE2) for exactly these values, alternated: `a.b|c` matches "a.b" and "c" only. */
export function promqlRegex(values: string[]): string {
  return values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
}

/** A label_replace replacement: `$1` there expands regex groups, `$$` is a literal `$`. */
export function promqlReplacement(value: string): string {
  return promqlString(value.replaceAll('$', '$$$$'));
}

/** Text in an alert's labels or annotations, which Prometheus expands as a Go template:
 *  a literal `{{` is written as the action {{"{{"}} (a lone `}}` is plain text already). */
export function promTemplateText(value: string): string {
  return value.replaceAll('{{', '{{"{{"}}');
}

/** A label value in Prometheus' text exposition format (a textfile node-exporter reads): \\, \" and \n escaped. */
export function expositionLabel(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

// The one way a value enters a Traefik v3 rule (`Host(...) && PathPrefix(...)`). Rule
// values are Go string literals: a raw `backtick` string (no escapes; cannot hold a backtick,
// and Go drops carriage returns from it) or an interpreted "double-quoted" one. Plain
// printable values get backticks; anything else gets a double-quoted literal whose
// escapes (\" \\ \n \uXXXX ...) JSON and Go share.

export function traefikRuleValue(value: string): string {
  if (/\p{Cs}/u.test(value)) throw new Error('bug: a lone surrogate cannot be in a Traefik rule');
  if (/^[^`\x00-\x1f\x7f]*$/.test(value)) return `\`${value}\``;
  return JSON.stringify(value);
}

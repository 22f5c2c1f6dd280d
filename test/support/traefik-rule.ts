import assert from 'node:assert/strict';

// Traefik v3 rule grammar (pkg/muxer/http): matchers with string arguments in backticks
// or Go double quotes, combined with &&, ||, ! and parentheses.
const matcherArity: Record<string, number> = {
  ClientIP: 1,
  Method: 1,
  Host: 1,
  HostRegexp: 1,
  Path: 1,
  PathPrefix: 1,
  PathRegexp: 1,
  Header: 2,
  HeaderRegexp: 2,
  Query: 2,
  QueryRegexp: 2,
};
export function parseRule(rule: string): Array<{ matcher: string; args: string[] }> {
  let i = 0;
  const found: Array<{ matcher: string; args: string[] }> = [];
  const ws = () => {
    while (rule[i] === ' ') i++;
  };
  const str = (): string => {
    ws();
    if (rule[i] === '`') {
      const j = rule.indexOf('`', i + 1);
      assert.ok(j > i, `unterminated string in ${rule}`);
      const v = rule.slice(i + 1, j);
      i = j + 1;
      return v;
    }
    assert.equal(rule[i], '"', `string expected at ${i} in ${rule}`);
    const m = /^"(?:[^"\\]|\\.)*"/.exec(rule.slice(i));
    assert.ok(m, `bad string in ${rule}`);
    i += m[0].length;
    return JSON.parse(m[0]) as string;
  };
  const term = (): void => {
    ws();
    if (rule[i] === '!') {
      i++;
      term();
      return;
    }
    if (rule[i] === '(') {
      i++;
      expr();
      ws();
      assert.equal(rule[i], ')', rule);
      i++;
      return;
    }
    const m = /^[A-Za-z]+/.exec(rule.slice(i));
    assert.ok(m && m[0] in matcherArity, `unknown matcher at ${i} in ${rule}`);
    i += m[0].length;
    ws();
    assert.equal(rule[i], '(', rule);
    i++;
    const args = [str()];
    for (ws(); rule[i] === ','; ws()) {
      i++;
      args.push(str());
    }
    assert.equal(rule[i], ')', rule);
    i++;
    assert.equal(args.length, matcherArity[m[0]], `${m[0]} takes ${matcherArity[m[0]]} argument(s) in ${rule}`);
    if (m[0].endsWith('Regexp')) new RegExp(args.at(-1)!.replace(/^\(\?i\)/, ''));
    found.push({ matcher: m[0], args });
  };
  const expr = (): void => {
    term();
    for (ws(); rule.startsWith('&&', i) || rule.startsWith('||', i); ws()) {
      i += 2;
      term();
    }
  };
  expr();
  ws();
  assert.equal(i, rule.length, `trailing input in ${rule}`);
  return found;
}

// The kubelet's expansion of command, args and env values, as the design document and
// k8s.io/kubernetes/third_party/forked/golang/expansion describe it: `$$` is one `$`, `$(NAME)`
// is NAME's value when the container defines it (else left as written), any other `$` is kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { kubeLiteral } from './kube.js';

function kubeletExpand(value: string, env: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const next = value[i + 1];
    if (value[i] !== '$' || next === undefined) out += value[i];
    else if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const end = value.indexOf(')', i + 2);
      if (end < 0) return out + value.slice(i);
      const name = value.slice(i + 2, end);
      out += Object.hasOwn(env, name) ? env[name] : value.slice(i, end + 1);
      i = end;
    } else out += '$';
  }
  return out;
}

const env = { DB_PASSWORD: 'hunter2-from-a-secret', HOME: '/root' };

test('the kubelet expands what is not escaped: the finding this module closes', () => {
  assert.equal(kubeletExpand('echo $(DB_PASSWORD)', env), 'echo hunter2-from-a-secret');
  assert.equal(kubeletExpand('price: $$5, $(NOPE), $x', env), 'price: $5, $(NOPE), $x');
});

test('a value through kubeLiteral reaches the container exactly as the spec wrote it', () => {
  for (const v of ['echo $(DB_PASSWORD)', '$$(HOME)', 'a$', '$', '^/api/(v[0-9]+)$', 'sh -c "exec $1" $(HOME)'])
    assert.equal(kubeletExpand(kubeLiteral(v), env), v);
  fc.assert(
    fc.property(fc.stringMatching(/^[$()A-Z_a-z ]*$/), (v) => kubeletExpand(kubeLiteral(v), env) === v),
    { numRuns: 500 },
  );
});

// Image references against the cases of distribution/reference's own reference_test.go
// (TestReferenceParse): the same inputs, the same verdicts, the same name/tag/digest split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseImageReference } from '../../src/spec/image-ref.js';

const f64 = 'f'.repeat(64);
const valid: Array<[input: string, name: string, tag?: string, digest?: string]> = [
  ['test_com', 'test_com'],
  ['test.com:tag', 'test.com', 'tag'],
  ['test.com:5000', 'test.com', '5000'],
  ['test.com/repo:tag', 'test.com/repo', 'tag'],
  ['test:5000/repo', 'test:5000/repo'],
  ['test:5000/repo:tag', 'test:5000/repo', 'tag'],
  [`test:5000/repo@sha256:${f64}`, 'test:5000/repo', undefined, `sha256:${f64}`],
  [`test:5000/repo:tag@sha256:${f64}`, 'test:5000/repo', 'tag', `sha256:${f64}`],
  ['lowercase:Uppercase', 'lowercase', 'Uppercase'],
  [`${'a/'.repeat(127)}a:tag-puts-this-over-max`, `${'a/'.repeat(127)}a`, 'tag-puts-this-over-max'],
  ['sub-dom1.foo.com/bar/baz/quux', 'sub-dom1.foo.com/bar/baz/quux'],
  ['sub-dom1.foo.com/bar/baz/quux:some-long-tag', 'sub-dom1.foo.com/bar/baz/quux', 'some-long-tag'],
  ['b.gcr.io/test.example.com/my-app:test.example.com', 'b.gcr.io/test.example.com/my-app', 'test.example.com'],
  ['xn--n3h.com/myimage:xn--n3h.com', 'xn--n3h.com/myimage', 'xn--n3h.com'],
  [`xn--7o8h.com/myimage:xn--7o8h.com@sha512:${'f'.repeat(128)}`, 'xn--7o8h.com/myimage', 'xn--7o8h.com', `sha512:${'f'.repeat(128)}`],
  ['foo_bar.com:8080', 'foo_bar.com', '8080'],
  ['foo/foo_bar.com:8080', 'foo/foo_bar.com', '8080'],
  ['192.168.1.1', '192.168.1.1'],
  ['192.168.1.1:tag', '192.168.1.1', 'tag'],
  ['192.168.1.1:5000', '192.168.1.1', '5000'],
  ['192.168.1.1/repo', '192.168.1.1/repo'],
  ['192.168.1.1:5000/repo', '192.168.1.1:5000/repo'],
  ['192.168.1.1:5000/repo:5050', '192.168.1.1:5000/repo', '5050'],
  ['[2001:db8::1]/repo', '[2001:db8::1]/repo'],
  ['[2001:db8:1:2:3:4:5:6]/repo:tag', '[2001:db8:1:2:3:4:5:6]/repo', 'tag'],
  ['[2001:db8::1]:5000/repo', '[2001:db8::1]:5000/repo'],
  ['[2001:db8::1]:5000/repo:tag', '[2001:db8::1]:5000/repo', 'tag'],
  [`[2001:db8::1]:5000/repo@sha256:${f64}`, '[2001:db8::1]:5000/repo', undefined, `sha256:${f64}`],
  [`[2001:db8::1]:5000/repo:tag@sha256:${f64}`, '[2001:db8::1]:5000/repo', 'tag', `sha256:${f64}`],
  ['[2001:db8::]:5000/repo', '[2001:db8::]:5000/repo'],
  ['[::1]:5000/repo', '[::1]:5000/repo'],
  // FIXME in the Go suite: "Uppercase" reads as a domain there, so this passes.
  ['Uppercase/lowercase:tag', 'Uppercase/lowercase', 'tag'],
  // What wharf's own templates and defaults use.
  ['traefik/whoami:v1.10.3', 'traefik/whoami', 'v1.10.3'],
  ['gcr.io/cadvisor/cadvisor:v0.49.1', 'gcr.io/cadvisor/cadvisor', 'v0.49.1'],
];

const invalid: Array<[input: string, error: RegExp]> = [
  ['', /at least one component/],
  [':justtag', /invalid reference format/],
  [`@sha256:${f64}`, /invalid reference format/],
  ['repo@sha256:ffffffffffffffffffffffffffffffffff', /digest length/],
  [`validname@invaliddigest:${f64}`, /unsupported digest algorithm/],
  ['Uppercase:tag', /lowercase/],
  ['test:5000/Uppercase/lowercase:tag', /lowercase/],
  [`${'a/'.repeat(128)}a:tag`, /more than 255 characters/],
  ['aa/asdf$$^/aa', /invalid reference format/],
  ['[2001:db8::1]', /invalid reference format/],
  ['[2001:db8::1]:5000', /invalid reference format/],
  ['[2001:db8::1]:tag', /invalid reference format/],
  ['[fe80::1%eth0]:5000/repo', /invalid reference format/],
  ['[fe80::1%@invalidzone]:5000/repo', /invalid reference format/],
  // Hostile values a spec might carry.
  ['nginx latest', /invalid reference format/],
  ['nginx:1;reboot', /invalid reference format/],
  ['nginx:1\n', /invalid reference format/],
  ['nginx\n:1', /invalid reference format/],
  ['nginx:$(id)', /invalid reference format/],
  [`nginx@sha256:${'F'.repeat(64)}`, /lowercase/],
  [`nginx:${'t'.repeat(129)}`, /invalid reference format/],
];

for (const [input, name, tag, digest] of valid) {
  test(`image reference ${JSON.stringify(input.slice(0, 60))} parses`, () => {
    const r = parseImageReference(input);
    assert.ok(r.ok, r.ok ? '' : r.error);
    assert.deepEqual(r.ref, { name, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) });
  });
}

for (const [input, error] of invalid) {
  test(`image reference ${JSON.stringify(input.slice(0, 60))} is refused`, () => {
    const r = parseImageReference(input);
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.error, error);
  });
}

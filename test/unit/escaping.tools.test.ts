// One escaping function per output format, each checked against the real reader of that
// format with the nasty cases: /bin/sh, haproxy, JSON (Go string literals for Traefik and
// PromQL share its escapes), promtool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { shellQuote, shellWord } from '../../src/escape/shell.js';
import { haproxyQuote, haproxyWord } from '../../src/escape/haproxy.js';
import { traefikRuleValue } from '../../src/escape/traefik.js';
import { promTemplateText, promqlRegex, promqlReplacement, promqlString } from '../../src/escape/promql.js';
import { toYaml } from '../../src/render/files.js';

const nasty = [
  '',
  ' ',
  "'",
  "''",
  '"',
  '`',
  '$',
  '$HOME',
  '${HOME}',
  '$(touch PWNED)',
  '`touch PWNED`',
  ';touch PWNED;',
  'a\nb',
  '\n',
  '\r\n',
  'a\\',
  '\\\\',
  '\\n',
  '#x',
  '%[src]',
  'a b\tc',
  'ü 😀 \u2028',
  'it\'s "quoted"',
  '/health;touch${IFS}/tmp/x;',
  '?a=1&b=2',
  '-n',
  '*',
  '\x01\x7f',
];
const haproxyOk = spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0;
const promtoolOk = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;

test('shellQuote: /bin/sh reads every value back as one word, runs nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-sq-'));
  try {
    const script =
      nasty.map((v, i) => `V${i}=${shellQuote(v)}`).join('\n') +
      `\nfor i in ${nasty.map((_, i) => i).join(' ')}; do eval "printf '%s\\\\0' \\"\\$V$i\\""; done\n`;
    writeFileSync(join(dir, 's.sh'), script);
    const r = spawnSync('/bin/sh', ['s.sh'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\0').slice(0, -1), nasty);
    assert.equal(existsSync(join(dir, 'PWNED')), false);
    // as a command word too: one argument each
    const argv = spawnSync('/bin/sh', ['-c', `printf '%s\\0' ${nasty.map(shellQuote).join(' ')}`], { cwd: dir, encoding: 'utf8' });
    assert.deepEqual(argv.stdout.split('\0').slice(0, -1), nasty);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.throws(() => shellQuote('a\0b'), /NUL/);
});

test('shellWord (commands shown to people): safe words bare, the rest one quoted word that /bin/sh reads back', () => {
  assert.equal(shellWord('compose.yaml'), 'compose.yaml');
  assert.equal(shellWord('label=com.docker.compose.project=shop'), 'label=com.docker.compose.project=shop');
  assert.equal(shellWord(''), "''");
  assert.equal(shellWord('a b'), "'a b'");
  const argv = spawnSync('/bin/sh', ['-c', `printf '%s\\0' ${nasty.map(shellWord).join(' ')}`], { encoding: 'utf8' });
  assert.deepEqual(argv.stdout.split('\0').slice(0, -1), nasty);
});

test(
  'haproxyQuote: no line break, comment or expansion survives; haproxy reads the value back intact',
  { skip: !haproxyOk && 'haproxy not installed' },
  async () => {
    for (const v of nasty) {
      const q = haproxyQuote(v);
      assert.doesNotMatch(q, /[\n\r]/);
      assert.ok(q.startsWith('"') && q.endsWith('"'));
    }
    assert.equal(haproxyWord('/health'), '/health');
    assert.equal(haproxyWord('/health\nbackend x'), '"/health\\x0abackend x"');
    assert.equal(haproxyQuote('a$b#c"d\\e'), '"a\\$b\\#c\\"d\\\\e"');
    // Served back by a real HAProxy: `http-request return ... string <value>` answers with the value.
    const values = nasty.filter((v) => v.length > 0);
    const port = await new Promise<number>((res) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    const dir = mkdtempSync(join(tmpdir(), 'wharf-hq-'));
    const cfg = [
      'defaults',
      '    mode http',
      '    timeout connect 1s',
      '    timeout client 2s',
      '    timeout server 2s',
      'frontend f',
      `    bind 127.0.0.1:${port}`,
      ...values.map((v, i) => `    http-request return status 200 content-type text/plain string ${haproxyWord(v)} if { path /${i} }`),
      '',
    ].join('\n');
    writeFileSync(join(dir, 'h.cfg'), cfg);
    const c = spawnSync('haproxy', ['-c', '-f', join(dir, 'h.cfg')], { encoding: 'utf8' });
    assert.equal(c.status, 0, c.stderr + c.stdout);
    const hp = spawn('haproxy', ['-db', '-f', join(dir, 'h.cfg')], { stdio: 'ignore' });
    try {
      const get = (path: string) =>
        new Promise<Buffer>((res, rej) => {
          const sock = createConnection(port, '127.0.0.1');
          const chunks: Buffer[] = [];
          sock
            .on('connect', () => sock.write(`GET ${path} HTTP/1.0\r\n\r\n`))
            .on('data', (d) => chunks.push(d))
            .on('end', () => res(Buffer.concat(chunks)))
            .on('error', rej);
        });
      for (let t = 0; ; t++) {
        try {
          await get('/0');
          break;
        } catch (e) {
          if (t > 50) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      for (let i = 0; i < values.length; i++) {
        const res = await get(`/${i}`);
        const body = res.subarray(res.indexOf('\r\n\r\n') + 4).toString('utf8');
        assert.equal(body, values[i], `value ${JSON.stringify(values[i])}`);
      }
    } finally {
      hp.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('toYaml: values with DEL, C1 controls or YAML 1.1 line breaks come back intact', () => {
  const values = [...nasty, 'x\x7fy', 'a\u0085b', 'c\u2029d', 'z\x9f'];
  const text = toYaml({ v: values });
  assert.doesNotMatch(text, /[\x7f-\x9f\u2028\u2029]/);
  assert.deepEqual(parse(text).v, values);
  assert.deepEqual(parse(text, { version: '1.1' }).v, values);
});

test('traefikRuleValue: backticks for plain values, a Go string literal otherwise', () => {
  assert.equal(traefikRuleValue('api.example.com'), '`api.example.com`');
  assert.equal(traefikRuleValue('/a`b'), '"/a`b"');
  assert.equal(traefikRuleValue('a\rb'), '"a\\rb"', 'Go drops \\r from raw strings: quoted instead');
  assert.equal(traefikRuleValue('a\nb'), '"a\\nb"');
  for (const v of nasty) {
    const q = traefikRuleValue(v);
    if (q.startsWith('`')) {
      assert.ok(!v.includes('`'));
      assert.equal(q.slice(1, -1), v);
    } else assert.equal(JSON.parse(q), v);
    assert.doesNotMatch(q, /[\n\r]/);
  }
  assert.throws(() => traefikRuleValue('\ud800'), /surrogate/);
});

test(
  'promqlString / promqlRegex / promqlReplacement: promtool parses rules built from nasty names, and the regex matches only the names',
  { skip: !promtoolOk && 'promtool not installed' },
  () => {
    for (const v of nasty) assert.equal(JSON.parse(promqlString(v)), v);
    const re = new RegExp(`^(?:${promqlRegex(['a.b', 'c|d', '(x)'])})$`);
    assert.ok(re.test('a.b') && re.test('c|d') && re.test('(x)'));
    assert.ok(!re.test('axb') && !re.test('c') && !re.test('x'));
    assert.equal(promqlReplacement('$1'), '"$$1"');
    const dir = mkdtempSync(join(tmpdir(), 'wharf-pq-'));
    try {
      const rules = nasty.map((v, i) => ({
        alert: `A${i}`,
        labels: { component: promTemplateText(`${v}{{ .Value }}{{`) },
        expr: `label_replace(absent(up{job=${promqlString(v)}} == 1), "job", ${promqlReplacement(v)}, "", "") or up{job=~${promqlString(promqlRegex([v, 'x']))}} == 0`,
      }));
      writeFileSync(join(dir, 'r.yml'), toYaml({ groups: [{ name: 'g', rules }] })); // the renderers' YAML writer
      const r = spawnSync('promtool', ['check', 'rules', join(dir, 'r.yml')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'promTemplateText: promtool expands the alert label back to the literal value',
  { skip: !promtoolOk && 'promtool not installed' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-pt-'));
    try {
      const values = ['plain', '{{ .Value }}', '{{', '}}', 'a{{{b}}}c', '{{ printf "%s" "x" }}', '{{"{{"}}'];
      const rules = values.map((v, i) => ({ alert: `T${i}`, expr: 'vector(1)', labels: { component: promTemplateText(v) } }));
      writeFileSync(join(dir, 'r.yml'), toYaml({ groups: [{ name: 'g', rules }] }));
      const tests = {
        rule_files: ['r.yml'],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: [],
            alert_rule_test: values.map((v, i) => ({
              eval_time: '1m',
              alertname: `T${i}`,
              exp_alerts: [{ exp_labels: { component: v } }],
            })),
          },
        ],
      };
      writeFileSync(join(dir, 't.yml'), toYaml(tests));
      const r = spawnSync('promtool', ['test', 'rules', 't.yml'], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

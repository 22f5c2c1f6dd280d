// ntfy, Gotify and Matrix through the notify relay, end to end on loopback: the rendered
// alertmanager.yml passes the pinned amtool, the real Alertmanager (0.28) posts to the relay as
// rendered (relay.mjs run by Node.js as shipped; only secret paths and addresses changed for the
// test), and a local server stands in for each service, answering only requests that follow its
// documented API (anything else is a 400, which the relay turns into a 502 and this test into a
// failure). A deploy event and a failed backup each give exactly one message per channel; no
// token is in a rendered file or in the relay's log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseSpecText } from '../../src/spec/load.js';
import { buildPlan } from '../../src/plan/build.js';
import { renderAlertmanager } from '../../src/render/alertmanager/index.js';
import { renderNotifyRelay } from '../../src/render/notify-relay/index.js';
import { httpSink, postEvent } from '../../src/ops/events.js';
import { alertmanagerBinaries } from '../support/alertmanager-bin.js';
import { requireTool } from '../support/tools.js';
import { templateText } from '../support/templates.js';

const dockerOk = spawnSync('docker', ['version'], { stdio: 'ignore' }).status === 0;
const skip = requireTool(dockerOk, 'docker (the alertmanager test image holds the pinned Alertmanager)');

const TOKENS = {
  ntfyTopic: 'alerts-7c1d9e',
  ntfy: 'tk_ntfytoken0a1b2c3d4e5f6a7b8c9d0e1f',
  gotify: 'AgotifyAppTok3n',
  matrix: 'syt_bWF0cml4_matrixtoken_1x2y3z',
};
const ROOM = '!opsroom:localhost';

interface Hit {
  service: 'ntfy' | 'gotify' | 'matrix';
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}
const work = mkdtempSync(join(tmpdir(), 'wharf-relay-'));
const hits: Hit[] = [];
const refused: string[] = [];
const txnIds = new Set<string>();
let server: Server;
let port = 0;
const procs: ChildProcess[] = [];
let relayLog = '';
let amLog = '';

/** The services' documented request formats; the reason a request breaks it, or undefined. */
function check(method: string, url: URL, h: IncomingMessage['headers'], raw: string): { service?: Hit['service']; error?: string } {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(raw);
  } catch {
    return { error: 'body is not JSON' };
  }
  const str = (k: string) => typeof body[k] === 'string' && (body[k] as string).length > 0;
  const int = (k: string, lo: number, hi: number) => Number.isInteger(body[k]) && (body[k] as number) >= lo && (body[k] as number) <= hi;
  // ntfy JSON publishing (docs.ntfy.sh/publish/#publish-as-json): POST to the server root with
  // topic and message; title, priority 1-5 and tags (a list) optional; access token as Bearer
  if (method === 'POST' && url.pathname === '/') {
    if (h.authorization !== `Bearer ${TOKENS.ntfy}`) return { error: 'ntfy: no Bearer access token' };
    if (body.topic !== TOKENS.ntfyTopic || !str('message') || !str('title') || !int('priority', 1, 5)) return { error: 'ntfy: bad fields' };
    if (!Array.isArray(body.tags) || !body.tags.every((t) => typeof t === 'string')) return { error: 'ntfy: tags is not a list' };
    return { service: 'ntfy' };
  }
  // Gotify (gotify.net/api-docs, POST /message): the application token as ?token=, the
  // X-Gotify-Key header or a Bearer token; message required, title and priority (integer) optional
  if (method === 'POST' && url.pathname === '/gotify/message') {
    const token = url.searchParams.get('token') ?? h['x-gotify-key'] ?? h.authorization?.replace(/^Bearer /, '');
    if (token !== TOKENS.gotify) return { error: 'gotify: no application token' };
    if (!str('message') || !str('title') || !int('priority', 0, 10)) return { error: 'gotify: bad fields' };
    return { service: 'gotify' };
  }
  // Matrix client-server API v3 (spec.matrix.org, PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}):
  // Bearer access token, a room id, a transaction id unique per message, an m.room.message body
  const m = /^\/_matrix\/client\/v3\/rooms\/([^/]+)\/send\/m\.room\.message\/([^/]+)$/.exec(url.pathname);
  if (method === 'PUT' && m) {
    if (h.authorization !== `Bearer ${TOKENS.matrix}`) return { error: 'matrix: no Bearer access token' };
    if (decodeURIComponent(m[1]!) !== ROOM) return { error: `matrix: room ${m[1]}` };
    if (txnIds.has(m[2]!)) return { error: 'matrix: transaction id reused' };
    txnIds.add(m[2]!);
    if (!['m.text', 'm.notice'].includes(String(body.msgtype)) || !str('body')) return { error: 'matrix: bad m.room.message' };
    return { service: 'matrix' };
  }
  return { error: `no such API: ${method} ${url.pathname}` };
}

before(async () => {
  if (skip) return;
  server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8').on('data', (d: string) => (raw += d));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://local');
      const r = check(req.method ?? '', url, req.headers, raw);
      if (r.error) {
        refused.push(r.error);
        return void res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: r.error }));
      }
      hits.push({ service: r.service!, method: req.method!, path: url.pathname, headers: req.headers, body: JSON.parse(raw) });
      const answer = r.service === 'matrix' ? { event_id: `$e${hits.length}` } : { id: hits.length };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

after(() => {
  for (const p of procs) if (p.pid && p.exitCode === null) process.kill(p.pid, 'SIGKILL');
  server?.closeAllConnections();
  server?.close();
  rmSync(work, { recursive: true, force: true });
});

function spec(): string {
  return `${templateText('api')}
  alerts:
    receivers:
      - { type: ntfy, name: phone, urlSecret: ntfy-url, tokenSecret: ntfy-token }
      - { type: gotify, name: desk, url: "http://127.0.0.1:${port}/gotify", tokenSecret: gotify-token }
      - { type: matrix, name: room, homeserver: "http://127.0.0.1:${port}", room: "${ROOM}", tokenSecret: matrix-token }
secrets:
  ntfy-url: { file: ./s/ntfy-url }
  ntfy-token: { file: ./s/ntfy-token }
  gotify-token: { file: ./s/gotify-token }
  matrix-token: { file: ./s/matrix-token }
`;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const p = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  return p;
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}; refused: ${refused.join('; ')}\nrelay: ${relayLog}\nam: ${amLog}`);
    await sleep(100);
  }
}
const answers = (url: string) => () =>
  fetch(url)
    .then((r) => r.ok)
    .catch(() => false);

let files: { am: string; relayJson: string; relayScript: string } | undefined;

test('relay: tokens only in secret files, mounted into the relay alone; the pinned amtool accepts the config', { skip }, async () => {
  const r = parseSpecText(spec());
  assert.ok(r.stack, JSON.stringify(r.issues));
  const plan = buildPlan(r.stack);
  const relay = renderNotifyRelay(plan);
  const am = renderAlertmanager(plan)[0]!.contents;
  files = {
    am,
    relayJson: relay.find((f) => f.path === 'notify-relay/relay.json')!.contents,
    relayScript: relay.find((f) => f.path === 'notify-relay/relay.mjs')!.contents,
  };
  for (const f of [am, files.relayJson]) for (const v of Object.values(TOKENS)) assert.ok(!f.includes(v), v);
  const byName = (n: string) => plan.components.find((c) => c.name === n)!;
  assert.deepEqual(
    byName('notify-relay').secrets.map((s) => s.secret),
    ['gotify-token', 'matrix-token', 'ntfy-token', 'ntfy-url'],
  );
  assert.deepEqual(byName('alertmanager').secrets, []);
  assert.deepEqual(byName('alertmanager').networks, ['monitoring'], 'Alertmanager needs no route out: the relay has it');
  const { amtool } = await alertmanagerBinaries();
  writeFileSync(join(work, 'rendered.yml'), am);
  const c = spawnSync(amtool, ['check-config', join(work, 'rendered.yml')], { encoding: 'utf8' });
  assert.equal(c.status, 0, `${c.stdout}${c.stderr}`);
});

test('relay: ntfy, Gotify and Matrix each get one message per event, in their documented API', { skip, timeout: 60_000 }, async () => {
  assert.ok(files, 'the first test renders the files');
  const secrets = join(work, 'secrets');
  mkdirSync(secrets);
  const values: Record<string, string> = {
    'ntfy-url': `http://127.0.0.1:${port}/${TOKENS.ntfyTopic}`,
    'ntfy-token': TOKENS.ntfy,
    'gotify-token': TOKENS.gotify,
    'matrix-token': `${TOKENS.matrix}\n`, // a trailing newline, as editors leave it, is not part of the token
  };
  for (const [k, v] of Object.entries(values)) writeFileSync(join(secrets, k), v);
  const [relayPort, amPort] = [await freePort(), await freePort()];
  const config = JSON.parse(files.relayJson.replaceAll('/run/secrets/', `${secrets}/`));
  writeFileSync(join(work, 'relay.json'), JSON.stringify({ ...config, port: relayPort, host: '127.0.0.1' }));
  writeFileSync(join(work, 'relay.mjs'), files.relayScript);
  const relay = spawn(process.execPath, [join(work, 'relay.mjs'), join(work, 'relay.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(relay);
  for (const s of [relay.stdout!, relay.stderr!]) s.on('data', (d: Buffer) => (relayLog += d.toString()));
  writeFileSync(join(work, 'alertmanager.yml'), files.am.replaceAll('http://notify-relay:9095/', `http://127.0.0.1:${relayPort}/`));
  const { alertmanager } = await alertmanagerBinaries();
  const am = spawn(
    alertmanager,
    [
      `--config.file=${join(work, 'alertmanager.yml')}`,
      `--storage.path=${join(work, 'data')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      '--cluster.listen-address=',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  procs.push(am);
  am.stderr!.on('data', (d: Buffer) => (amLog = (amLog + d.toString()).slice(-4000)));
  await until('relay healthy', answers(`http://127.0.0.1:${relayPort}/-/healthy`));
  await until('Alertmanager ready', answers(`http://127.0.0.1:${amPort}/-/ready`), 20_000);

  const sink = httpSink(`http://127.0.0.1:${amPort}`);
  const text = (h: Hit) => JSON.stringify(h.body);
  const services = ['ntfy', 'gotify', 'matrix'] as const;
  const about = (s: string, what: string) => hits.filter((h) => h.service === s && text(h).includes(what));
  assert.deepEqual(await postEvent(sink, 'shop', { kind: 'deploy-finished', summary: 'deploy of shop finished: api rolled' }), {
    posted: true,
  });
  await until('a deploy message on every channel', () => services.every((s) => about(s, 'deploy of shop').length > 0));
  assert.deepEqual(await postEvent(sink, 'shop', { kind: 'backup-failed', summary: 'backup db failed: restic exited 1' }), {
    posted: true,
  });
  await until('a backup message on every channel', () => services.every((s) => about(s, 'backup db failed').length > 0));
  await sleep(2500); // a second copy would have come by now (group_wait 0s, no resolved message)
  for (const s of services) {
    assert.equal(about(s, 'deploy of shop').length, 1, `${s}: one deploy message`);
    assert.equal(about(s, 'backup db failed').length, 1, `${s}: one backup message`);
  }
  assert.deepEqual(refused, [], 'every request followed its service API');
  const [ntfy] = about('ntfy', 'backup db failed');
  assert.match(String(ntfy!.body.title), /WharfBackupFailed/);
  assert.equal(ntfy!.body.priority, 5, 'a critical event is urgent');
  const [gotify] = about('gotify', 'backup db failed');
  assert.equal(gotify!.body.priority, 8);
  assert.equal(gotify!.path, '/gotify/message');
  const [matrix] = about('matrix', 'backup db failed');
  assert.equal(matrix!.body.msgtype, 'm.notice');
  assert.match(String(matrix!.body.body), /WharfBackupFailed[\s\S]*backup db failed/);
  for (const v of Object.values(TOKENS).filter((t) => t !== TOKENS.ntfyTopic))
    assert.ok(!relayLog.includes(v), 'no token in the relay log');
  assert.match(relayLog, /phone: ntfy answered 200/);
});

test('relay: a service that refuses answers 502, so Alertmanager retries; an unknown receiver is 404', { skip }, async () => {
  assert.ok(files, 'the first test renders the files');
  const cfg = JSON.parse(files.relayJson);
  const relayPort = await freePort();
  const bad = {
    port: relayPort,
    host: '127.0.0.1',
    receivers: [{ ...cfg.receivers[1], url: `http://127.0.0.1:${port}/nowhere`, tokenFile: join(work, 'secrets', 'gotify-token') }],
  };
  writeFileSync(join(work, 'bad.json'), JSON.stringify(bad));
  const relay = spawn(process.execPath, [join(work, 'relay.mjs'), join(work, 'bad.json')], { stdio: 'ignore' });
  procs.push(relay);
  await until('relay healthy', answers(`http://127.0.0.1:${relayPort}/-/healthy`));
  const payload = {
    version: '4',
    status: 'firing',
    receiver: 'desk',
    commonLabels: { alertname: 'X' },
    alerts: [{ status: 'firing', labels: { alertname: 'X' }, annotations: {} }],
  };
  const post = (path: string) => fetch(`http://127.0.0.1:${relayPort}${path}`, { method: 'POST', body: JSON.stringify(payload) });
  assert.equal((await post('/desk')).status, 502);
  assert.equal((await post('/nobody')).status, 404);
});

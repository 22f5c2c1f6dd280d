// Notification channels, end to end on loopback: the rendered alertmanager.yml passes the real
// amtool (0.28, the pinned version), then the real Alertmanager runs with it (only the secret
// paths, Telegram's API URL and Pushover's proxy changed for the test) and each channel delivers
// to a local server that checks the payload against the service's documented format. A deploy
// event and a failed backup each give exactly one message per receiver; a test event names one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { parseSpecText } from '../../src/spec/load.js';
import { buildPlan } from '../../src/plan/build.js';
import { renderAlertmanager } from '../../src/render/alertmanager/index.js';
import { httpSink, postEvent } from '../../src/ops/events.js';
import { alertmanagerBinaries } from '../support/alertmanager-bin.js';
import { testServerCert } from '../support/test-cert.js';
import { requireTool } from '../support/tools.js';

const dockerOk = spawnSync('docker', ['version'], { stdio: 'ignore' }).status === 0;
const skip = requireTool(dockerOk, 'docker (the alertmanager test image holds the pinned Alertmanager)');

interface Hit {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}
const work = mkdtempSync(join(tmpdir(), 'wharf-notify-'));
const hits: Hit[] = [];
let server: Server;
let port = 0;
let am: ChildProcess | undefined;
let amBase = '';
let rendered = '';
let amLog = '';
const TOKENS = {
  hook: 'hook-pass-9f2c',
  heartbeat: 'hb-token-77aa',
  slack: 'slack-path-T0B0X',
  discord: 'discord-token-41c',
  teams: 'teams-sig-0d9e',
  telegram: '123456:tg-secret-6b1f',
  pushoverToken: 'azGDORePK8gMaC0QOYAMyEEuzJnyUi',
  pushoverUser: 'uQiRzpo4DXghDmr9QzzfQu27cmVRsG',
};

function answer(path: string): { status: number; body: string; type?: string } {
  if (path.startsWith('/bot'))
    return { status: 200, body: '{"ok":true,"result":{"message_id":1,"date":0,"chat":{"id":-1001,"type":"group"}}}' };
  if (path.startsWith('/1/messages.json')) return { status: 200, body: '{"status":1,"request":"a"}' };
  if (path.startsWith('/slack')) return { status: 200, body: 'ok', type: 'text/plain' };
  if (path.startsWith('/api/webhooks')) return { status: 204, body: '' };
  return { status: 200, body: '' };
}

before(async () => {
  if (skip) return;
  testServerCert(work, 'DNS:api.pushover.net');
  const handler = (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      hits.push({ path: req.url ?? '', headers: req.headers, body });
      const a = answer(req.url ?? '');
      res.writeHead(a.status, { 'content-type': a.type ?? 'application/json' }).end(a.body);
    });
  };
  // Pushover's API address is fixed in Alertmanager: it reaches it through this server as an
  // HTTPS proxy (CONNECT), which answers as api.pushover.net with a test CA's certificate.
  const tls = createHttps({ key: readFileSync(join(work, 'key.pem')), cert: readFileSync(join(work, 'cert.pem')) }, handler);
  server = createServer(handler);
  server.on('connect', (req, socket) => {
    assert.equal(req.url, 'api.pushover.net:443');
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    tls.emit('connection', socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  if (am?.pid && am.exitCode === null) process.kill(am.pid, 'SIGKILL');
  server?.closeAllConnections();
  server?.close();
  rmSync(work, { recursive: true, force: true });
});

function spec(): string {
  const text = readFileSync(join(process.cwd(), 'templates', 'api.yaml'), 'utf8');
  return `${text}
  alerts:
    heartbeat: { urlSecret: hb-url, interval: 1m }
    receivers:
      - { type: webhook, name: ops-hook, urlSecret: hook-url }
      - { type: webhook, name: plain-hook, url: "http://127.0.0.1:${port}/plain" }
      - { type: slack, name: team-slack, channel: "#ops", webhookSecret: slack-url }
      - { type: discord, name: disc, webhookSecret: discord-url }
      - { type: msteams, name: teams, webhookSecret: teams-url }
      - { type: telegram, name: tg, botTokenSecret: tg-token, chatId: -1001 }
      - { type: pushover, name: po, userKeySecret: po-user, tokenSecret: po-token }
secrets:
  hb-url: { file: ./s/hb }
  hook-url: { file: ./s/hook }
  slack-url: { file: ./s/slack }
  discord-url: { file: ./s/discord }
  teams-url: { file: ./s/teams }
  tg-token: { file: ./s/tg }
  po-user: { file: ./s/po-user }
  po-token: { file: ./s/po-token }
`;
}

/** The secret files as the stack mounts them, pointing at the local server. */
function writeSecrets(dir: string): void {
  const base = `http://127.0.0.1:${port}`;
  const files: Record<string, string> = {
    'hb-url': `${base}/hb/${TOKENS.heartbeat}`,
    'hook-url': `http://ops:${TOKENS.hook}@127.0.0.1:${port}/hook`,
    'slack-url': `${base}/slack/${TOKENS.slack}`,
    'discord-url': `${base}/api/webhooks/1/${TOKENS.discord}`,
    'teams-url': `${base}/workflows/${TOKENS.teams}`,
    'tg-token': TOKENS.telegram,
    'po-user': TOKENS.pushoverUser,
    'po-token': TOKENS.pushoverToken,
  };
  mkdirSync(dir, { recursive: true });
  // no trailing newline: Alertmanager 0.28 reads Pushover's token and user key files verbatim
  for (const [k, v] of Object.entries(files)) writeFileSync(join(dir, k), v);
}

/** The test's copy of the rendered file: secret paths, Telegram's API and Pushover's route here. */
function testCopy(contents: string, secrets: string): string {
  const doc = parse(contents.replaceAll('/run/secrets/', `${secrets}/`)) as { receivers: Array<Record<string, any>> };
  for (const r of doc.receivers) {
    for (const c of r.telegram_configs ?? []) c.api_url = `http://127.0.0.1:${port}`;
    for (const c of r.pushover_configs ?? [])
      c.http_config = { proxy_url: `http://127.0.0.1:${port}`, tls_config: { ca_file: join(work, 'ca.pem') } };
  }
  return stringify(doc);
}

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(hits.map((h) => h.path))}\n${amLog}`);
    await sleep(100);
  }
}

const channels: Record<string, (h: Hit) => boolean> = {
  webhook: (h) => h.path === '/hook',
  plain: (h) => h.path === '/plain',
  slack: (h) => h.path.startsWith('/slack/'),
  discord: (h) => h.path.startsWith('/api/webhooks/'),
  teams: (h) => h.path.startsWith('/workflows/'),
  telegram: (h) => h.path.startsWith('/bot'),
  pushover: (h) => h.path.startsWith('/1/messages.json'),
};
const about = (kind: string) => (h: Hit) => h.body.includes(kind) || decodeURIComponent(h.path).includes(kind);

test('notify: every credential is a secret file; the pinned amtool accepts the receivers', { skip }, async () => {
  const r = parseSpecText(spec());
  assert.ok(r.stack, JSON.stringify(r.issues));
  const plan = buildPlan(r.stack);
  rendered = renderAlertmanager(plan)[0]!.contents;
  for (const v of Object.values(TOKENS)) assert.ok(!rendered.includes(v), v);
  const am = plan.components.find((c) => c.name === 'alertmanager')!;
  assert.deepEqual(am.secrets.map((s) => s.secret).sort(), [
    'discord-url',
    'hb-url',
    'hook-url',
    'po-token',
    'po-user',
    'slack-url',
    'teams-url',
    'tg-token',
  ]);
  const { amtool } = await alertmanagerBinaries();
  writeFileSync(join(work, 'rendered.yml'), rendered);
  const c = spawnSync(amtool, ['check-config', join(work, 'rendered.yml')], { encoding: 'utf8' });
  assert.equal(c.status, 0, `${c.stdout}${c.stderr}`);
  assert.match(c.stdout, /SUCCESS/);
});

test('notify: each channel delivers events in its documented format, exactly once per event', { skip }, async () => {
  assert.ok(rendered, 'the first test renders the file');
  const { alertmanager } = await alertmanagerBinaries();
  const secrets = join(work, 'secrets');
  writeSecrets(secrets);
  writeFileSync(join(work, 'alertmanager.yml'), testCopy(rendered, secrets));
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const amPort = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  amBase = `http://127.0.0.1:${amPort}`;
  const args = [
    `--config.file=${join(work, 'alertmanager.yml')}`,
    `--storage.path=${join(work, 'data')}`,
    `--web.listen-address=127.0.0.1:${amPort}`,
    '--cluster.listen-address=',
  ];
  am = spawn(alertmanager, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  am.stderr!.on('data', (d: Buffer) => (amLog = (amLog + d.toString()).slice(-4000)));
  await until('Alertmanager ready', () => am!.exitCode === null && readyOnce(), 20_000);

  const sink = httpSink(amBase);
  assert.deepEqual(await postEvent(sink, 'shop', { kind: 'deploy-finished', summary: 'deploy of shop finished: api rolled' }), {
    posted: true,
  });
  await until('a deploy message on every channel', () =>
    Object.values(channels).every((m) => hits.some((h) => m(h) && about('deploy')(h))),
  );
  assert.deepEqual(await postEvent(sink, 'shop', { kind: 'backup-failed', summary: 'backup db failed: restic exited 1' }), {
    posted: true,
  });
  await until('a backup message on every channel', () =>
    Object.values(channels).every((m) => hits.some((h) => m(h) && about('backup')(h))),
  );
  await sleep(2500); // anything sent twice would have come by now (group_wait 0s, no resolved message)
  for (const [name, m] of Object.entries(channels)) {
    assert.equal(hits.filter((h) => m(h) && about('deploy')(h)).length, 1, `${name}: one deploy message`);
    assert.equal(hits.filter((h) => m(h) && about('backup')(h)).length, 1, `${name}: one backup message`);
  }
  const one = (name: string) => hits.find((h) => channels[name]!(h) && about('backup')(h))!;

  // webhook: Alertmanager's JSON (version 4), basic auth from the URL held in the secret
  const hook = JSON.parse(one('webhook').body);
  assert.equal(hook.version, '4');
  assert.equal(hook.receiver, 'ops-hook/events');
  assert.equal(hook.alerts[0].labels.wharf_event, 'backup-failed');
  assert.equal(hook.alerts[0].labels.severity, 'critical');
  assert.equal(one('webhook').headers.authorization, `Basic ${Buffer.from(`ops:${TOKENS.hook}`).toString('base64')}`);
  // Slack incoming webhook: channel and attachments
  const slack = JSON.parse(one('slack').body);
  assert.equal(slack.channel, '#ops');
  assert.match(slack.attachments[0].title, /WharfBackupFailed/);
  assert.match(slack.attachments[0].text, /backup db failed/);
  // Discord execute-webhook: embeds with title and description
  const discord = JSON.parse(one('discord').body);
  assert.ok(Array.isArray(discord.embeds) && discord.embeds.length === 1, one('discord').body);
  assert.match(discord.embeds[0].title, /WharfBackupFailed/);
  assert.equal(typeof discord.embeds[0].description, 'string');
  assert.equal(typeof discord.content, 'string');
  // Teams workflow: a message carrying one Adaptive Card
  const teams = JSON.parse(one('teams').body);
  assert.equal(teams.type, 'message');
  assert.equal(teams.attachments[0].contentType, 'application/vnd.microsoft.card.adaptive');
  assert.equal(teams.attachments[0].content.type, 'AdaptiveCard');
  assert.ok(teams.attachments[0].content.body.some((b: { text?: string }) => /WharfBackupFailed/.test(b.text ?? '')));
  // Telegram Bot API: POST /bot<token>/sendMessage with chat_id and text
  const tg = one('telegram');
  assert.equal(tg.path, `/bot${TOKENS.telegram}/sendMessage`);
  const tgBody = JSON.parse(tg.body);
  assert.equal(String(tgBody.chat_id), '-1001');
  assert.match(tgBody.text, /WharfBackupFailed/);
  assert.equal(tgBody.parse_mode, 'HTML');
  // Pushover messages API (over TLS as api.pushover.net): token, user and message parameters
  const po = new URL(one('pushover').path, 'https://api.pushover.net');
  assert.equal(po.pathname, '/1/messages.json');
  assert.equal(po.searchParams.get('token'), TOKENS.pushoverToken);
  assert.equal(po.searchParams.get('user'), TOKENS.pushoverUser);
  assert.match(po.searchParams.get('message') ?? '', /backup db failed/);

  // wharf notify test NAME: one message, to that receiver only
  const before = hits.length;
  assert.deepEqual(await postEvent(sink, 'shop', { kind: 'test', summary: 'test message from wharf', receiver: 'disc' }), { posted: true });
  await until('the test message', () => hits.length > before);
  await sleep(1500);
  assert.deepEqual(
    hits.slice(before).map((h) => Object.keys(channels).find((n) => channels[n]!(h))),
    ['discord'],
  );
  // the heartbeat URL (a secret file too) gets the Watchdog and nothing else
  assert.equal(hits.filter((h) => h.path.startsWith('/hb/')).length, 0);
  const r = await fetch(new URL('/api/v2/alerts', amBase), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ labels: { alertname: 'Watchdog', severity: 'none' } }]),
  });
  assert.equal(r.status, 200);
  await until('the heartbeat ping', () => hits.some((h) => h.path === `/hb/${TOKENS.heartbeat}`));
});

let ready = false;
function readyOnce(): boolean {
  if (!ready)
    void fetch(new URL('/-/ready', amBase))
      .then((r) => (ready = r.ok))
      .catch(() => {});
  return ready;
}

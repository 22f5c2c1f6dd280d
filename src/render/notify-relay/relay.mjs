// wharf's notify relay: Alertmanager posts the alerts of an ntfy, Gotify or Matrix receiver here
// (its webhook payload, version 4, at /<receiver>), and the relay sends one message in that
// service's documented API. No dependency but Node.js. Tokens are read from their files for
// each message (a rotated token needs no restart) and never logged; a failed send answers 502,
// so Alertmanager retries it.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const receivers = new Map(config.receivers.map((r) => [r.name, r]));
const rank = { critical: 3, warning: 2, info: 1 };
// per service: [critical, warning, info, resolved]
const NTFY_PRIORITY = [5, 4, 3, 2];
const NTFY_TAGS = ['rotating_light', 'warning', 'information_source', 'white_check_mark'];
const GOTIFY_PRIORITY = [8, 5, 2, 1];
const MAX_TEXT = 3500;

const readSecret = (file) => readFileSync(file, 'utf8').trim();

/** Title, text and level (0 critical .. 3 resolved) of a webhook payload. */
function message(p) {
  const alerts = p.alerts ?? [];
  const firing = alerts.filter((a) => a.status === 'firing');
  const labels = p.commonLabels ?? {};
  const status = String(p.status ?? 'firing').toUpperCase();
  const name = labels.alertname ?? alerts[0]?.labels?.alertname ?? 'alert';
  const title = `[${status}${p.status === 'firing' ? `:${firing.length}` : ''}] ${name}${labels.component ? ` (${labels.component})` : ''}`;
  const text = alerts
    .map((a) => {
      const an = a.annotations ?? {};
      const lines = [
        `${a.status === 'resolved' ? 'resolved' : (a.labels?.severity ?? 'alert')}: ${an.summary ?? a.labels?.alertname ?? ''}`,
      ];
      if (an.description && an.description !== an.summary) lines.push(an.description);
      if (an.runbook) lines.push(`Runbook: ${an.runbook}`);
      return lines.join('\n');
    })
    .join('\n\n');
  const top = Math.max(0, ...firing.map((a) => rank[a.labels?.severity] ?? 0));
  const level = p.status === 'resolved' ? 3 : top === 3 ? 0 : top === 2 ? 1 : 2;
  // ntfy turns a message over 4096 bytes into an attachment: a long group is cut, not lost
  const clipped = text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}\n... (${alerts.length} alerts in all)` : text;
  return { title, text: clipped || title, level };
}

/** A URL's user:password as a Basic header, and the URL without them (fetch refuses them). */
function withoutCredentials(raw) {
  const u = new URL(raw);
  const auth = u.username
    ? `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`
    : undefined;
  u.username = '';
  u.password = '';
  return { url: u, auth };
}

/** The request a receiver's message becomes: ntfy's JSON publish, Gotify's /message, Matrix's room send. */
function request(r, m) {
  const json = { 'content-type': 'application/json' };
  if (r.type === 'ntfy') {
    const { url, auth } = withoutCredentials(r.urlFile ? readSecret(r.urlFile) : r.url);
    const path = url.pathname.replace(/\/+$/, '');
    const topic = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
    url.pathname = `${path.slice(0, path.lastIndexOf('/'))}/`;
    const token = r.tokenFile ? `Bearer ${readSecret(r.tokenFile)}` : auth;
    const body = { topic, title: m.title, message: m.text, priority: NTFY_PRIORITY[m.level], tags: [NTFY_TAGS[m.level]] };
    return { method: 'POST', url, headers: { ...json, ...(token ? { authorization: token } : {}) }, body };
  }
  if (r.type === 'gotify') {
    const { url, auth } = withoutCredentials(r.url);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/message`;
    // the documented header keeps the application token out of access logs (?token= would not)
    const headers = { ...json, 'x-gotify-key': readSecret(r.tokenFile), ...(auth ? { authorization: auth } : {}) };
    return { method: 'POST', url, headers, body: { title: m.title, message: m.text, priority: GOTIFY_PRIORITY[m.level] } };
  }
  const { url } = withoutCredentials(r.url);
  const room = encodeURIComponent(r.room);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/_matrix/client/v3/rooms/${room}/send/m.room.message/${randomUUID()}`;
  // m.notice: the message type the spec gives automated senders
  const body = { msgtype: 'm.notice', body: `${m.title}\n${m.text}` };
  return { method: 'PUT', url, headers: { ...json, authorization: `Bearer ${readSecret(r.tokenFile)}` }, body };
}

async function send(r, payload) {
  const q = request(r, message(payload));
  const res = await fetch(q.url, {
    method: q.method,
    headers: q.headers,
    body: JSON.stringify(q.body),
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer();
  return res.status;
}

function log(line) {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/-/healthy') return void res.writeHead(200).end('ok\n');
  const r = receivers.get(decodeURIComponent((req.url ?? '').slice(1)));
  if (req.method !== 'POST' || !r) return void res.writeHead(404).end('no such receiver\n');
  let body = '';
  let size = 0;
  req.setEncoding('utf8');
  req.on('data', (d) => {
    size += d.length;
    if (size > 4 << 20) req.destroy();
    else body += d;
  });
  req.on('end', async () => {
    let payload;
    try {
      payload = JSON.parse(body);
    } catch {
      return void res.writeHead(400).end('not JSON\n');
    }
    try {
      const status = await send(r, payload);
      const ok = status >= 200 && status < 300;
      log(`${r.name}: ${r.type} answered ${status}`);
      res.writeHead(ok ? 200 : 502).end(ok ? 'sent\n' : `${r.type} answered ${status}\n`);
    } catch (e) {
      // the cause's code only: an error message may quote the URL, and a URL may hold a token
      const why = e?.cause?.code ?? e?.name ?? 'error';
      log(`${r.name}: ${r.type} not reached (${why})`);
      res.writeHead(502).end(`${r.type} not reached (${why})\n`);
    }
  });
});

server.listen(config.port, config.host ?? '0.0.0.0', () =>
  log(`notify relay listening on ${config.port}: ${[...receivers.keys()].join(', ')}`),
);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));

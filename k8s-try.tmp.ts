import { templatePlan } from './test/support/templates.js';
import { renderAll } from './src/render/index.js';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
for (const t of ['api','haproxy-mysql','lab','miniflux','gitea']) {
  const files = renderAll(templatePlan(t), 'k8s', { ageRecipient: 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p' });
  const dir = `/tmp/k8s-out/${t}`; rmSync(dir, { recursive: true, force: true });
  for (const f of files) { mkdirSync(dirname(join(dir, f.path)), { recursive: true }); writeFileSync(join(dir, f.path), f.contents); }
  console.log(t, files.map(f=>f.path).join(' '));
}

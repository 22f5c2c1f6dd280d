// plan -> the ACME client's files (the acme-scripts bundle): its script and the Dockerfile of
// its default image. Pure: no fs, env, clock or randomness.
import type { Plan } from '../../plan/model.js';
import { generatedHeader, type RenderedFile } from '../files.js';
import { scripts } from './scripts.js';
import { defaultImages } from '../../plan/images.js';

/** goacme/lego is lego on Alpine; socat speaks the edges' runtime API (TLS), busybox's nslookup finds the edges. */
function renderDockerfile(): string {
  return `# ${generatedHeader}
# The ACME client of the HAProxy edge: the official lego image plus socat for the edges' runtime API.
ARG LEGO_IMAGE=${defaultImages.lego}
FROM \${LEGO_IMAGE}
RUN apk add --no-cache socat tzdata && lego --version && socat -V >/dev/null && command -v nslookup >/dev/null
ENTRYPOINT []
CMD ["/bin/sh", "/acme-bin/acme.sh", "loop"]
`;
}

export function renderAcme(plan: Plan): RenderedFile[] {
  if (!plan.tls.acme) return [];
  return [
    { path: 'acme/Dockerfile', contents: renderDockerfile() },
    ...Object.entries(scripts).map(([name, text]) => ({ path: `acme/${name}`, contents: text, mode: 0o755 })),
  ];
}

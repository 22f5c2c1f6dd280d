// plan -> the ACME client's files (the acme-scripts bundle): its script and the Dockerfile of
// its default image. Pure: no fs, env, clock or randomness.
import type { Plan } from '../../plan/model.js';
import { generatedHeader, type RenderedFile } from '../files.js';
import { scripts } from './scripts.js';
import { defaultImages } from '../../plan/images.js';

/** goacme/lego is lego on Alpine; the runtime API is a UNIX socket, which socat speaks. */
function renderDockerfile(): string {
  return `# ${generatedHeader}
# The ACME client of the HAProxy edge: the official lego image plus socat for the edge's runtime API.
ARG LEGO_IMAGE=${defaultImages.lego}
FROM \${LEGO_IMAGE}
RUN apk add --no-cache socat tzdata musl-utils && lego --version && socat -V >/dev/null && getent hosts localhost
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

// A second, empty Docker engine for one test: the swarm fixture's node image (Docker-in-Docker,
// scripts/docker/swarm-nodes.sh) run alone, its dockerd on tcp://<ip>:2375 of the default bridge.
// `share` is bind-mounted at the same path, so the bind mounts Compose asks that engine for
// (secret files, rendered configs, a local backup repository) name the same files.
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { swarmScript } from './swarm.js';

export interface DockerHost {
  name: string;
  /** DOCKER_HOST for the client */
  dockerHost: string;
  /** `docker save` here, `docker load` there */
  load(refs: string[]): Promise<void>;
  remove(): Promise<void>;
}

export async function startDockerHost(name: string, share: string): Promise<DockerHost> {
  const image = (await execa('bash', [swarmScript, 'node-image'], { timeout: 15 * 60_000, stderr: 'inherit' })).stdout.trim();
  await execa('docker', ['rm', '-f', '-v', name], { reject: false });
  await execa('docker', [
    'create',
    '--name',
    name,
    ...['--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE'],
    ...['--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined', '--security-opt', 'systempaths=unconfined'],
    '--device-cgroup-rule=a *:* rwm',
    ...['-v', '/var/lib/docker', '-v', `${share}:${share}`],
    image,
  ]);
  const conf = mkdtempSync(join(tmpdir(), 'wharf-dind-'));
  const daemon = { hosts: ['unix:///var/run/docker.sock', 'tcp://0.0.0.0:2375'], tls: false, 'storage-driver': 'overlay2' };
  writeFileSync(join(conf, 'daemon.json'), JSON.stringify(daemon));
  await execa('docker', ['cp', join(conf, 'daemon.json'), `${name}:/etc/docker/daemon.json`]);
  rmSync(conf, { recursive: true, force: true });
  await execa('docker', ['start', name]);
  const ip = (await execa('docker', ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', name])).stdout.trim();
  const dockerHost = `tcp://${ip}:2375`;
  for (let i = 0; ; i++) {
    if ((await execa('docker', ['info'], { env: { DOCKER_HOST: dockerHost }, reject: false })).exitCode === 0) break;
    if (i >= 90) throw new Error(`the engine in ${name} did not answer within 90 s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  return {
    name,
    dockerHost,
    async load(refs) {
      await execa('bash', ['-o', 'pipefail', '-c', 'docker save "$@" | docker -H "$TARGET" load -q', 'save', ...new Set(refs)], {
        env: { TARGET: dockerHost },
        timeout: 10 * 60_000,
      });
    },
    async remove() {
      await execa('docker', ['rm', '-f', '-v', name], { reject: false });
    },
  };
}

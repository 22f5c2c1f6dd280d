// Pebble (Let's Encrypt's test CA, Debian's package in the wharf-test/lego image) in a container
// of the host's engine on a given network, reached by IP: the DinD swarm nodes' containers get to
// it through their node's NAT, and Pebble reaches the nodes' published edge ports. Its DNS
// (pebble-challtestsrv) answers every name with one chosen address: the edge that validates.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { testServerCert } from '../../support/test-cert.js';

export interface PebbleContainer {
  name: string;
  ip: string;
  /** ACME directory URL */
  directory: string;
  /** the root Pebble's own HTTPS listener chains to (the spec's tls.ca.root) */
  root: string;
  /** starts Pebble: HTTP-01 on `httpPort` of `answerIp` for every name */
  serve(httpPort: number, answerIp: string): Promise<void>;
  /** the root of the certificates Pebble issues (changes with each Pebble start) */
  issuingRoot(): Promise<string>;
  remove(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pebble's listener certificate for a name, made before the container (whose network may not exist yet). */
export function pebbleFiles(alias: string): { dir: string; root: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-pebble-'));
  testServerCert(dir, `DNS:${alias}`);
  return { dir, root: join(dir, 'ca.pem') };
}

/** A container holding Pebble's files, on `network`, reached by its IP (or by `named.alias`,
 *  with the files pebbleFiles made for it); Pebble itself starts with serve(). */
export async function pebbleOn(
  network: string,
  name: string,
  image: string,
  named?: { alias: string; dir: string },
): Promise<PebbleContainer> {
  const dir = named?.dir ?? mkdtempSync(join(tmpdir(), 'wharf-pebble-'));
  await execa('docker', ['rm', '-f', name], { reject: false });
  const alias = named ? ['--network-alias', named.alias] : [];
  const mount = ['-v', `${dir}:/pebble:ro`];
  await execa('docker', [
    'run',
    '-d',
    '--name',
    name,
    '--network',
    network,
    ...alias,
    ...mount,
    '--entrypoint',
    'sleep',
    image,
    'infinity',
  ]);
  const ip = (await execa('docker', ['inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, name])).stdout.trim();
  if (!named) testServerCert(dir, `IP:${ip}`);
  chmodSync(dir, 0o755);
  for (const f of ['ca.pem', 'cert.pem', 'key.pem']) chmodSync(join(dir, f), 0o644);
  const directory = `https://${named?.alias ?? ip}:14000/dir`;
  const exec = (args: string[]) => execa('docker', ['exec', name, ...args], { reject: false });
  return {
    name,
    ip,
    directory,
    root: join(dir, 'ca.pem'),
    async serve(httpPort, answerIp) {
      writeFileSync(
        join(dir, 'pebble.json'),
        JSON.stringify({
          pebble: {
            listenAddress: '0.0.0.0:14000',
            managementListenAddress: '0.0.0.0:15000',
            certificate: '/pebble/cert.pem',
            privateKey: '/pebble/key.pem',
            httpPort,
            tlsPort: 443,
            ocspResponderURL: '',
            externalAccountBindingRequired: false,
          },
        }),
      );
      await execa('docker', [
        'exec',
        '-d',
        '-e',
        'PEBBLE_VA_NOSLEEP=1',
        '-e',
        'PEBBLE_WFE_NONCEREJECT=0',
        name,
        'sh',
        '-c',
        `pebble-challtestsrv -defaultIPv4 ${answerIp} -defaultIPv6 '' -dns01 :8053 -http01 '' -https01 '' -tlsalpn01 '' -management :8055 & ` +
          'exec pebble -config /pebble/pebble.json -dnsserver 127.0.0.1:8053',
      ]);
      for (let i = 0; i < 50; i++) {
        if ((await exec(['curl', '-sf', '--cacert', '/pebble/ca.pem', directory])).exitCode === 0) return;
        await sleep(200);
      }
      throw new Error(`Pebble did not answer at ${directory}`);
    },
    async issuingRoot() {
      return (await execa('docker', ['exec', name, 'curl', '-sfk', 'https://127.0.0.1:15000/roots/0'])).stdout;
    },
    async remove() {
      await execa('docker', ['rm', '-f', name], { reject: false });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

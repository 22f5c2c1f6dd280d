// A throwaway CA (ca.pem) and a P-256 server key and certificate (key.pem, cert.pem) for
// `subjectAltName`, made with openssl in `dir`: Pebble's own HTTPS listener, the TLS front of
// the S3 test server, a stand-in for a notification service.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function testServerCert(dir: string, subjectAltName: string): void {
  const o = (...a: string[]) => execFileSync('openssl', a, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  o('req', '-x509', ...ec, '-days', '2', '-subj', '/CN=wharf test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  o('req', ...ec, '-subj', '/CN=wharf test server', '-keyout', 'key.pem', '-out', 'req.csr');
  // hostname checks read the SAN, not the CN
  writeFileSync(join(dir, 'san.ext'), `subjectAltName=${subjectAltName}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  o(
    'x509',
    '-req',
    '-in',
    'req.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'san.ext',
    '-out',
    'cert.pem',
  );
}

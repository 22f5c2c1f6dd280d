// Requests through the published edge, the way a browser would reach a route:
// to the loopback (or bind) address, with the route's Host header and SNI.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { PeerCertificate } from 'node:tls';

export interface EdgeResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** the certificate the edge presented (https only) */
  cert?: { subject: string; subjectAltName?: string; validTo: string; fingerprint256: string };
  ms: number;
}

export interface EdgeRequest {
  host: string;
  path?: string;
  port: number;
  /** where the edge is published; 0.0.0.0 and :: are reached through loopback */
  address?: string;
  tls?: boolean;
  method?: string;
  timeoutMs?: number;
  /** PEM of a CA to verify the edge against; without it the certificate is not verified */
  ca?: string;
  headers?: Record<string, string>;
  /** request body (sent with its content-length) */
  body?: string;
}

export function edgeAddress(bind: string | undefined): string {
  return !bind || bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind;
}

export function edgeRequest(r: EdgeRequest): Promise<EdgeResponse> {
  const started = performance.now();
  const tls = r.tls !== false;
  return new Promise((resolve, reject) => {
    const opts = {
      host: edgeAddress(r.address),
      port: r.port,
      path: r.path ?? '/',
      method: r.method ?? 'GET',
      headers: {
        host: r.host,
        'user-agent': 'wharf-doctor',
        ...r.headers,
        ...(r.body !== undefined ? { 'content-length': String(Buffer.byteLength(r.body)) } : {}),
      },
      timeout: r.timeoutMs ?? 5000,
      ...(tls ? { servername: r.host.replace(/:\d+$/, ''), rejectUnauthorized: !!r.ca, ca: r.ca } : {}),
      agent: false as const,
    };
    const req = (tls ? httpsRequest : httpRequest)(opts, (res) => {
      const chunks: Buffer[] = [];
      let cert: EdgeResponse['cert'];
      if (tls) {
        const c = (res.socket as unknown as { getPeerCertificate?: () => PeerCertificate }).getPeerCertificate?.();
        if (c && c.subject)
          cert = {
            subject: Object.entries(c.subject)
              .map(([k, v]) => `${k}=${v}`)
              .join(','),
            subjectAltName: c.subjectaltname,
            validTo: c.valid_to,
            fingerprint256: c.fingerprint256,
          };
      }
      res.on('data', (d: Buffer) => {
        if (chunks.reduce((n, b) => n + b.length, 0) < 1024 * 1024) chunks.push(d);
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          cert,
          ms: Math.round(performance.now() - started),
        }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${opts.timeout} ms`)));
    req.on('error', reject);
    req.end(r.body);
  });
}

#!/usr/bin/env node
// Tests only: re-keys a local restic repository with cheap scrypt parameters (N=1024, r=8, p=1).
// `restic init` calibrates its key derivation to ~0.5 s of CPU, and every later restic command
// derives the key again: the backup tests' ~90 restic commands spent most of their CPU there.
// restic has no option for it (its own tests lower the same parameters in code), so this writes
// the key file restic itself would write with them: the same master key, sealed as restic's
// crypto does (AES-256-CTR, then Poly1305-AES over the ciphertext). The repository's data,
// encryption and format stay restic's own; only the password's key derivation is cheaper.
//   node restic-test-key.mjs   (RESTIC_REPOSITORY = a local path; RESTIC_PASSWORD_FILE or RESTIC_PASSWORD)
import { createCipheriv, createHash, randomBytes, scryptSync } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CHEAP = { N: 1024, r: 8, p: 1 };

const derive = (password, salt, { N, r, p }) => {
  const k = scryptSync(password, salt, 64, { N, r, p, maxmem: 256 * N * r * (p + 1) + 1024 * 1024 });
  return { encrypt: k.subarray(0, 32), macK: k.subarray(32, 48), macR: k.subarray(48, 64) };
};

const le = (b) => b.reduceRight((n, byte) => (n << 8n) | BigInt(byte), 0n);

/** restic's poly1305MAC: r from the key (clamped), s = AES-128(k, nonce); Poly1305 over msg. */
function mac(msg, nonce, key) {
  const aes = createCipheriv('aes-128-ecb', key.macK, null).setAutoPadding(false);
  const s = le(aes.update(nonce));
  const r = le(key.macR) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  const p = (1n << 130n) - 5n;
  let acc = 0n;
  for (let i = 0; i < msg.length; i += 16) {
    const block = Buffer.concat([msg.subarray(i, i + 16), Buffer.from([1])]);
    acc = ((acc + le(block)) * r) % p;
  }
  acc = (acc + s) & ((1n << 128n) - 1n);
  return Buffer.from(Array.from({ length: 16 }, (_, i) => Number((acc >> BigInt(8 * i)) & 0xffn)));
}

const ctr = (key, nonce, data) => createCipheriv('aes-256-ctr', key.encrypt, nonce).update(data);

const repo = process.env.RESTIC_REPOSITORY;
// as restic reads it: the file's content without surrounding white space
const passwordFile = process.env.RESTIC_PASSWORD_FILE;
const password = passwordFile ? readFileSync(passwordFile, 'utf8').trim() : (process.env.RESTIC_PASSWORD ?? '');
const keysDir = join(repo, 'keys');
const [old] = readdirSync(keysDir);
const file = JSON.parse(readFileSync(join(keysDir, old), 'utf8'));
const sealed = Buffer.from(file.data, 'base64');
const nonce = sealed.subarray(0, 16);
const body = sealed.subarray(16, -16);
const user = derive(password, Buffer.from(file.salt, 'base64'), file);
if (!mac(body, nonce, user).equals(sealed.subarray(-16))) throw new Error('restic-test-key: the key file does not open with this password');
const master = ctr(user, nonce, body);

const salt = randomBytes(64);
const cheap = derive(password, salt, CHEAP);
const nonce2 = randomBytes(16);
const body2 = ctr(cheap, nonce2, master);
const data = Buffer.concat([nonce2, body2, mac(body2, nonce2, cheap)]).toString('base64');
const text = JSON.stringify({ ...file, ...CHEAP, salt: salt.toString('base64'), data });
// a key file's name is the SHA-256 of its content
const id = createHash('sha256').update(text).digest('hex');
writeFileSync(join(keysDir, `${id}.tmp`), text, { mode: 0o400 });
renameSync(join(keysDir, `${id}.tmp`), join(keysDir, id));
rmSync(join(keysDir, old), { force: true });

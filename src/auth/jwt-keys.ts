/** Builds the JWT verifier from `auth.jwt`, reading its key files; problems name file and key. */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/errors.js';
import type { JwtConfig } from '../config/types.js';
import { JwtVerifier } from './jwt.js';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** Every public key (or certificate's key) in a PEM text. Private keys are refused: they do not belong here. */
export function parsePublicKeys(pem: string): KeyObject[] | { problem: string } {
  const keys: KeyObject[] = [];
  for (const match of pem.matchAll(PEM_BLOCK)) {
    const label = match[1]!;
    if (label.includes('PRIVATE')) return { problem: `holds a ${label}: give the public key only` };
    if (label !== 'PUBLIC KEY' && label !== 'RSA PUBLIC KEY' && label !== 'CERTIFICATE') continue;
    let key: KeyObject;
    try {
      key = createPublicKey(match[0]);
    } catch (error) {
      return { problem: `cannot read a ${label}: ${(error as Error).message}` };
    }
    const ok = key.asymmetricKeyType === 'rsa' || (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1');
    if (!ok) return { problem: `a ${key.asymmetricKeyType ?? 'unknown'} key: only RSA (RS256) and EC P-256 (ES256) keys are supported` };
    keys.push(key);
  }
  if (keys.length === 0) return { problem: 'no PEM public key or certificate found' };
  return keys;
}

export function createJwtVerifier(config: JwtConfig, source: string): JwtVerifier {
  let secret: Buffer | undefined;
  if (config.secret !== undefined) secret = Buffer.from(config.secret, 'utf8');
  if (config.secretFile !== undefined) {
    const text = readKeyFile(config.secretFile, source, 'auth.jwt.secretFile').replace(/\r?\n$/, '');
    if (Buffer.byteLength(text) < 32) throw new ConfigError(source, 'auth.jwt.secretFile', `${config.secretFile}: an HS256 secret must be at least 32 bytes`);
    secret = Buffer.from(text, 'utf8');
  }
  let publicKeys: KeyObject[] | undefined;
  if (config.publicKeyFile !== undefined) {
    const parsed = parsePublicKeys(readKeyFile(config.publicKeyFile, source, 'auth.jwt.publicKeyFile'));
    if (!Array.isArray(parsed)) throw new ConfigError(source, 'auth.jwt.publicKeyFile', `${config.publicKeyFile}: ${parsed.problem}`);
    publicKeys = parsed;
  }
  return new JwtVerifier({
    ...(secret !== undefined && { secret }),
    ...(publicKeys !== undefined && { publicKeys }),
    ...(config.issuer !== undefined && { issuer: config.issuer }),
    ...(config.audience !== undefined && { audience: config.audience }),
    usernameClaim: config.usernameClaim,
    clockToleranceSeconds: config.clockToleranceSeconds,
    requireExpiry: config.requireExpiry,
  });
}

function readKeyFile(file: string, source: string, path: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(source, path, `cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`, { cause: error });
  }
}

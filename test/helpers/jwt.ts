import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

/** Signs a JWT for tests, with any header (so tests can forge bad ones). */
export function signJwt(
  payload: Record<string, unknown>,
  key: { hs256: Buffer | string } | { rs256: KeyObject } | { es256: KeyObject } | { none: true },
  header: Record<string, unknown> = {},
): string {
  const alg = 'hs256' in key ? 'HS256' : 'rs256' in key ? 'RS256' : 'es256' in key ? 'ES256' : 'none';
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signingInput = `${encode({ alg, typ: 'JWT', ...header })}.${encode(payload)}`;
  let signature: Buffer;
  if ('hs256' in key) signature = createHmac('sha256', key.hs256).update(signingInput).digest();
  else if ('rs256' in key) signature = sign('sha256', Buffer.from(signingInput), key.rs256);
  else if ('es256' in key) signature = sign('sha256', Buffer.from(signingInput), { key: key.es256, dsaEncoding: 'ieee-p1363' });
  else signature = Buffer.alloc(0);
  return `${signingInput}.${signature.toString('base64url')}`;
}

export function rsaKeys(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

export function ecKeys(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

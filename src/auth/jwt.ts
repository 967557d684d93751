/**
 * JSON Web Tokens (RFC 7519) used as the MQTT password, verified with node:crypto only.
 *
 * The algorithm comes from the key, never from the token: HS256 is tried only with the configured
 * secret, RS256 only with RSA public keys, ES256 only with P-256 public keys. `none` and every
 * other algorithm are refused, so a token cannot choose how it is checked (algorithm confusion).
 */
import { createHmac, timingSafeEqual, verify as verifySignature, type KeyObject } from 'node:crypto';

export type JwtAlgorithm = 'HS256' | 'RS256' | 'ES256';

export interface JwtVerifierOptions {
  /** HS256 secret. */
  readonly secret?: Buffer;
  /** RS256 (RSA) and ES256 (EC P-256) public keys; a token is accepted if one of them verifies it. */
  readonly publicKeys?: readonly KeyObject[];
  /** When set, the `iss` claim must equal it. */
  readonly issuer?: string;
  /** When set, the `aud` claim (a string or a list) must contain it. */
  readonly audience?: string;
  /** Claim holding the client's identity. */
  readonly usernameClaim: string;
  /** Seconds of clock difference tolerated on `exp` and `nbf`. */
  readonly clockToleranceSeconds: number;
  /** Refuse tokens without `exp`. */
  readonly requireExpiry: boolean;
}

export type JwtFailureReason =
  | 'malformed'
  | 'unsupported-algorithm'
  | 'bad-signature'
  | 'expired'
  | 'not-yet-valid'
  | 'missing-expiry'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'missing-username';

export type JwtVerification =
  | {
      readonly valid: true;
      readonly username: string;
      /** Milliseconds since the epoch when the token stops being valid (exp + tolerance); undefined without exp. */
      readonly expiresAt: number | undefined;
      readonly claims: Readonly<Record<string, unknown>>;
    }
  | { readonly valid: false; readonly reason: JwtFailureReason; readonly detail: string };

const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Larger tokens are refused before any parsing. */
const MAX_TOKEN_LENGTH = 16 * 1024;

/** True when `text` has the shape of a compact JWS (three base64url parts), so it is worth verifying as one. */
export function looksLikeJwt(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 3 && parts.every((part, index) => (index === 2 ? part === '' || BASE64URL.test(part) : BASE64URL.test(part)));
}

export class JwtVerifier {
  private readonly rsaKeys: readonly KeyObject[];
  private readonly ecKeys: readonly KeyObject[];

  constructor(private readonly options: JwtVerifierOptions) {
    const keys = options.publicKeys ?? [];
    for (const key of keys) {
      if (key.type !== 'public') throw new TypeError('JWT verification keys must be public keys');
    }
    this.rsaKeys = keys.filter((key) => key.asymmetricKeyType === 'rsa');
    this.ecKeys = keys.filter((key) => key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1');
    if (keys.length !== this.rsaKeys.length + this.ecKeys.length) {
      throw new TypeError('JWT public keys must be RSA (RS256) or EC P-256 (ES256)');
    }
    if (options.secret === undefined && keys.length === 0) throw new TypeError('a JWT verifier needs a secret or a public key');
    if (options.secret !== undefined && options.secret.length === 0) throw new TypeError('the JWT secret is empty');
  }

  /** The algorithms this verifier accepts, derived from its keys. */
  get algorithms(): readonly JwtAlgorithm[] {
    const algorithms: JwtAlgorithm[] = [];
    if (this.options.secret !== undefined) algorithms.push('HS256');
    if (this.rsaKeys.length > 0) algorithms.push('RS256');
    if (this.ecKeys.length > 0) algorithms.push('ES256');
    return algorithms;
  }

  verify(token: string, now: number = Date.now()): JwtVerification {
    if (token.length > MAX_TOKEN_LENGTH) return fail('malformed', `token longer than ${MAX_TOKEN_LENGTH} characters`);
    const parts = token.split('.');
    if (parts.length !== 3) return fail('malformed', 'expected three dot-separated parts');
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
    if (!BASE64URL.test(headerPart) || !BASE64URL.test(payloadPart)) return fail('malformed', 'header and payload must be base64url');
    if (signaturePart !== '' && !BASE64URL.test(signaturePart)) return fail('malformed', 'signature must be base64url');

    const header = decodeJsonObject(headerPart);
    if (header === undefined) return fail('malformed', 'header is not a JSON object');
    const payload = decodeJsonObject(payloadPart);
    if (payload === undefined) return fail('malformed', 'payload is not a JSON object');
    if (header['crit'] !== undefined) return fail('unsupported-algorithm', 'critical header extensions are not supported');

    const alg = header['alg'];
    if (typeof alg !== 'string') return fail('malformed', 'header has no alg');
    if (!(this.algorithms as readonly string[]).includes(alg)) {
      return fail('unsupported-algorithm', `algorithm ${JSON.stringify(alg.slice(0, 20))} is not accepted (accepted: ${this.algorithms.join(', ')})`);
    }
    const signature = Buffer.from(signaturePart, 'base64url');
    const signed = Buffer.from(`${headerPart}.${payloadPart}`, 'ascii');
    if (!this.signatureValid(alg as JwtAlgorithm, signed, signature)) return fail('bad-signature', 'signature does not verify');

    const tolerance = this.options.clockToleranceSeconds;
    const nowSeconds = now / 1000;
    const exp = payload['exp'];
    let expiresAt: number | undefined;
    if (exp !== undefined) {
      if (typeof exp !== 'number' || !Number.isFinite(exp)) return fail('malformed', 'exp is not a number');
      if (nowSeconds >= exp + tolerance) return fail('expired', 'token has expired');
      expiresAt = (exp + tolerance) * 1000;
    } else if (this.options.requireExpiry) {
      return fail('missing-expiry', 'token has no exp claim');
    }
    const nbf = payload['nbf'];
    if (nbf !== undefined) {
      if (typeof nbf !== 'number' || !Number.isFinite(nbf)) return fail('malformed', 'nbf is not a number');
      if (nowSeconds < nbf - tolerance) return fail('not-yet-valid', 'token is not valid yet (nbf)');
    }
    if (this.options.issuer !== undefined && payload['iss'] !== this.options.issuer) return fail('wrong-issuer', 'iss does not match');
    if (this.options.audience !== undefined) {
      const aud = payload['aud'];
      const audiences = Array.isArray(aud) ? aud : [aud];
      if (!audiences.includes(this.options.audience)) return fail('wrong-audience', 'aud does not match');
    }
    const username = payload[this.options.usernameClaim];
    if (typeof username !== 'string' || username === '') {
      return fail('missing-username', `claim ${JSON.stringify(this.options.usernameClaim)} is missing or not a non-empty string`);
    }
    return { valid: true, username, expiresAt, claims: payload };
  }

  private signatureValid(alg: JwtAlgorithm, signed: Buffer, signature: Buffer): boolean {
    switch (alg) {
      case 'HS256': {
        const expected = createHmac('sha256', this.options.secret!).update(signed).digest();
        return signature.length === expected.length && timingSafeEqual(signature, expected);
      }
      case 'RS256':
        return this.rsaKeys.some((key) => safeVerify(() => verifySignature('sha256', signed, key, signature)));
      case 'ES256':
        // JWS carries r || s (64 bytes), not DER.
        if (signature.length !== 64) return false;
        return this.ecKeys.some((key) => safeVerify(() => verifySignature('sha256', signed, { key, dsaEncoding: 'ieee-p1363' }, signature)));
    }
  }
}

function safeVerify(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

function fail(reason: JwtFailureReason, detail: string): JwtVerification {
  return { valid: false, reason, detail };
}

function decodeJsonObject(part: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return value as Record<string, unknown>;
}

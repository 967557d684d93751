/**
 * Decides who a connecting client is, from what it presents: a password checked against the users
 * file, a JWT as the password, a verified client certificate, or nothing (anonymous).
 *
 * - A password that has the shape of a JWT is verified as one when `auth.jwt` is configured; the
 *   identity is the token's username claim and the MQTT username is not used.
 * - Any other password (or a username without one) is checked against the users file.
 * - With `auth.certificate: optional | required`, a client with a verified certificate is known by
 *   the certificate's identity; a password it also sends must belong to that same identity.
 *   `required` refuses clients without a certificate.
 * - A client presenting nothing is anonymous: accepted only with `auth.anonymous: true`.
 * - With `anonymous: true` and no method configured at all, every client is accepted with the
 *   username it sent, unverified.
 */
import type { CertificateAuthMode } from '../config/types.js';
import { FailureDelay } from './failure-delay.js';
import type { JwtVerifier } from './jwt.js';
import { looksLikeJwt } from './jwt.js';
import { spendVerificationTime, verifyPassword } from './password-hash.js';
import type { UsersDatabase } from './users-file.js';

export interface Credentials {
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
  readonly remoteAddress: string;
  /** Identity of a verified client certificate (mTLS). */
  readonly certificateIdentity: string | undefined;
}

/** Why a client was refused; bounded, used as a metric label. */
export type AuthFailureReason =
  | 'unknown-user'
  | 'bad-password'
  | 'no-password'
  | 'invalid-token'
  | 'expired-token'
  | 'anonymous-refused'
  | 'no-certificate'
  | 'certificate-mismatch';

export type AuthMethod = 'anonymous' | 'password' | 'jwt' | 'certificate';

export type AuthResult =
  | {
      readonly accepted: true;
      /** The identity for ACLs, `%u` and the `${username}` template; undefined for anonymous clients. */
      readonly username: string | undefined;
      readonly method: AuthMethod;
      /** Milliseconds since the epoch when the credentials stop being valid (JWT exp). */
      readonly expiresAt?: number;
    }
  | {
      readonly accepted: false;
      /** `bad-credentials`: CONNACK 0x86 / return code 4. `not-authorized`: 0x87 / 5. */
      readonly code: 'bad-credentials' | 'not-authorized';
      readonly reason: AuthFailureReason;
      /** For the log; never contains the password or token. */
      readonly detail: string;
    };

export interface AuthenticatorOptions {
  readonly anonymous: boolean;
  readonly certificate: CertificateAuthMode;
  /** The users file currently in force (read on every attempt, so reloads apply at once). */
  readonly users?: () => UsersDatabase;
  /** The JWT verifier currently in force (read on every attempt, so key reloads apply at once). */
  readonly jwt?: () => JwtVerifier;
  readonly failureDelay?: FailureDelay;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class Authenticator {
  private readonly openToAll: boolean;

  constructor(private readonly options: AuthenticatorOptions) {
    this.openToAll = options.anonymous && options.users === undefined && options.jwt === undefined && options.certificate === 'ignore';
  }

  async authenticate(credentials: Credentials): Promise<AuthResult> {
    const { failureDelay, sleep = defaultSleep } = this.options;
    if (this.openToAll) return { accepted: true, username: credentials.username, method: 'anonymous' };
    const wait = failureDelay?.delayFor(credentials.remoteAddress) ?? 0;
    if (wait > 0) await sleep(wait);
    const result = await this.decide(credentials);
    if (!result.accepted) failureDelay?.recordFailure(credentials.remoteAddress);
    return result;
  }

  private async decide(credentials: Credentials): Promise<AuthResult> {
    const { certificate } = this.options;
    const certificateIdentity = certificate === 'ignore' ? undefined : credentials.certificateIdentity;
    if (certificate === 'required' && certificateIdentity === undefined) {
      return refuse('not-authorized', 'no-certificate', 'a client certificate is required');
    }
    const { username, password } = credentials;

    if (password === undefined && username === undefined) {
      if (certificateIdentity !== undefined) return { accepted: true, username: certificateIdentity, method: 'certificate' };
      if (this.options.anonymous) return { accepted: true, username: undefined, method: 'anonymous' };
      return refuse('not-authorized', 'anonymous-refused', 'no credentials and anonymous access is off');
    }

    const checked = await this.checkSecret(username ?? certificateIdentity, password);
    if (!checked.accepted) return checked;
    if (certificateIdentity !== undefined) {
      if (checked.username !== certificateIdentity) {
        return refuse('not-authorized', 'certificate-mismatch', 'the credentials belong to another identity than the client certificate');
      }
      return { ...checked, method: 'certificate' };
    }
    return checked;
  }

  private async checkSecret(username: string | undefined, password: Buffer | undefined): Promise<AuthResult> {
    const { jwt, users } = this.options;
    if (password !== undefined && jwt !== undefined) {
      const text = password.toString('utf8');
      if (looksLikeJwt(text)) {
        const result = jwt().verify(text, this.options.now?.() ?? Date.now());
        if (result.valid) return { accepted: true, username: result.username, method: 'jwt', ...(result.expiresAt !== undefined && { expiresAt: result.expiresAt }) };
        return refuse('bad-credentials', result.reason === 'expired' ? 'expired-token' : 'invalid-token', `token refused: ${result.reason}: ${result.detail}`);
      }
    }
    if (users === undefined) {
      return refuse('bad-credentials', password === undefined ? 'no-password' : 'invalid-token', jwt === undefined ? 'no users file is configured' : 'the password is not a JWT');
    }
    if (username === undefined) return refuse('bad-credentials', 'unknown-user', 'a password without a username');
    const user = users().users.get(username);
    if (user === undefined || user.password === undefined) {
      // As slow as a real check, so usernames cannot be told apart by timing.
      await spendVerificationTime(password ?? '');
      return user === undefined
        ? refuse('bad-credentials', 'unknown-user', 'no such user')
        : refuse('bad-credentials', 'no-password', 'this user has no password');
    }
    if (password === undefined) {
      await spendVerificationTime('');
      return refuse('bad-credentials', 'no-password', 'no password given');
    }
    if (!(await verifyPassword(password, user.password))) return refuse('bad-credentials', 'bad-password', 'wrong password');
    return { accepted: true, username, method: 'password' };
  }
}

function refuse(code: 'bad-credentials' | 'not-authorized', reason: AuthFailureReason, detail: string): AuthResult {
  return { accepted: false, code, reason, detail };
}

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
 *
 * Every other attempt runs through a {@link LoginGuard}: password checks one at a time per address
 * after its failure delay, hashes under a global bound; an attempt past a bound is refused
 * `server-busy`, unchecked.
 */
import type { CertificateAuthMode } from '../config/types.js';
import type { FailureDelay } from './failure-delay.js';
import type { JwtVerifier } from './jwt.js';
import { looksLikeJwt } from './jwt.js';
import { LoginGuard, type HashGate, type LoginAnswers, type LoginBusyReason, type LoginLane } from './login-guard.js';
import { spendVerificationTime, verifyPassword } from './password-hash.js';
import type { UsersDatabase } from './users-file.js';

export interface Credentials {
  /** MQTT only: for the log. */
  readonly clientId?: string;
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
  readonly remoteAddress: string;
  /** Identity of a verified client certificate (mTLS). */
  readonly certificateIdentity: string | undefined;
  /** Aborted when the client goes away: a check still waiting for its turn is then dropped. */
  readonly signal?: AbortSignal | undefined;
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
    }
  | {
      readonly accepted: false;
      /** Refused before the credentials were checked (MQTT 5 CONNACK 0x89, 3.1.1 return code 3; HTTP 503). */
      readonly code: 'server-busy';
      readonly reason: LoginBusyReason;
      readonly detail: string;
    };

export interface AuthenticatorOptions {
  readonly anonymous: boolean;
  readonly certificate: CertificateAuthMode;
  /** The users file currently in force (read on every attempt, so reloads apply at once). */
  readonly users?: () => UsersDatabase;
  /** The JWT verifier currently in force (read on every attempt, so key reloads apply at once). */
  readonly jwt?: () => JwtVerifier;
  /** The bounds and delays attempts run under. Default: one with `failureDelay`, `sleep` and `now`, and no bounds. */
  readonly guard?: LoginGuard;
  /** Used only by the default guard. */
  readonly failureDelay?: FailureDelay;
  readonly now?: () => number;
  /** Used only by the default guard. */
  readonly sleep?: (ms: number) => Promise<void>;
}

const BUSY_DETAILS: Readonly<Record<LoginBusyReason, string>> = {
  'hash-queue-full': 'too many password checks at once',
  'address-queue-full': 'too many login attempts from this address at once',
  abandoned: 'the client went away before its credentials were checked',
};

const ANSWERS: LoginAnswers<AuthResult> = {
  outcomeOf: (result) => (result.accepted ? 'success' : result.code === 'server-busy' ? 'unchecked' : 'failure'),
  busy: (reason) => ({
    accepted: false,
    code: 'server-busy',
    reason,
    detail: BUSY_DETAILS[reason],
  }),
};

export class Authenticator {
  private readonly openToAll: boolean;
  readonly guard: LoginGuard;

  constructor(private readonly options: AuthenticatorOptions) {
    this.openToAll = options.anonymous && options.users === undefined && options.jwt === undefined && options.certificate === 'ignore';
    const { failureDelay, sleep, now } = options;
    this.guard = options.guard ?? new LoginGuard({ ...(failureDelay && { failureDelay }), ...(sleep && { sleep }), ...(now && { now }) });
  }

  async authenticate(credentials: Credentials): Promise<AuthResult> {
    if (this.openToAll) return { accepted: true, username: credentials.username, method: 'anonymous' };
    const attempt = {
      lane: this.laneOf(credentials),
      address: credentials.remoteAddress,
      username: credentials.username ?? credentials.certificateIdentity,
      signal: credentials.signal,
    };
    return this.guard.run(attempt, (hash) => this.decide(credentials, hash), ANSWERS);
  }

  /** Which protections an attempt needs: decided from what it presents, before anything is checked. */
  laneOf({ username, password }: Pick<Credentials, 'username' | 'password'>): LoginLane {
    if (password === undefined && username === undefined) return 'none';
    if (password !== undefined && this.options.jwt !== undefined && looksLikeJwt(password.toString('utf8'))) return 'token';
    return 'password';
  }

  private async decide(credentials: Credentials, hash: HashGate): Promise<AuthResult> {
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

    const checked = await this.checkSecret(username ?? certificateIdentity, password, hash);
    if (!checked.accepted) return checked;
    if (certificateIdentity !== undefined) {
      if (checked.username !== certificateIdentity) {
        return refuse('not-authorized', 'certificate-mismatch', 'the credentials belong to another identity than the client certificate');
      }
      return { ...checked, method: 'certificate' };
    }
    return checked;
  }

  private async checkSecret(username: string | undefined, password: Buffer | undefined, hash: HashGate): Promise<AuthResult> {
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
      await hash(() => spendVerificationTime(password ?? ''));
      return user === undefined
        ? refuse('bad-credentials', 'unknown-user', 'no such user')
        : refuse('bad-credentials', 'no-password', 'this user has no password');
    }
    if (password === undefined) {
      await hash(() => spendVerificationTime(''));
      return refuse('bad-credentials', 'no-password', 'no password given');
    }
    const stored = user.password;
    if (!(await hash(() => verifyPassword(password, stored)))) return refuse('bad-credentials', 'bad-password', 'wrong password');
    return { accepted: true, username, method: 'password' };
  }
}

function refuse(code: 'bad-credentials' | 'not-authorized', reason: AuthFailureReason, detail: string): AuthResult {
  return { accepted: false, code, reason, detail };
}

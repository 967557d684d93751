/**
 * Who sent an HTTP ingest request: HTTP Basic (a users file entry), `Authorization: Bearer` (a JWT,
 * checked as the MQTT side checks a JWT given as the password), a verified client certificate, or
 * nothing (anonymous, only with `auth.anonymous: true`). The check itself is the access control's
 * `authenticate`, the same one every MQTT CONNECT goes through, with its login guard.
 *
 * A password hash per request would make HTTP ingest as slow as its hashes, so an accepted
 * Authorization header is remembered on its keep-alive connection for a short while (and never
 * past a token's expiry, nor across a change of the access control).
 */
import type { AccessControl } from '../../auth/access-control.js';
import type { AuthResult } from '../../auth/authenticator.js';

export interface PresentedCredentials {
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
}

/** How long an accepted Authorization header is trusted again on its connection without a check. */
export const CREDENTIAL_REUSE_MS = 30_000;

/** Reads the Authorization header: undefined when it is malformed or of a scheme not taken here. */
export function parseAuthorization(header: string | undefined): PresentedCredentials | undefined {
  if (header === undefined || header === '') return { username: undefined, password: undefined };
  const space = header.indexOf(' ');
  if (space === -1) return undefined;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') return value === '' ? undefined : { username: undefined, password: Buffer.from(value, 'utf8') };
  if (scheme !== 'basic' || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  return { username: decoded.slice(0, colon), password: Buffer.from(decoded.slice(colon + 1), 'utf8') };
}

export interface RequestIdentity {
  readonly authorization: string | undefined;
  readonly remoteAddress: string;
  readonly listener: string;
  readonly certificateIdentity: string | undefined;
  readonly signal: AbortSignal;
}

export type Authentication = AuthResult | { readonly accepted: false; readonly code: 'malformed'; readonly detail: string };

interface Remembered {
  readonly authorization: string | undefined;
  readonly access: AccessControl;
  readonly until: number;
  readonly result: AuthResult & { readonly accepted: true };
}

/** One per connection: the last accepted credentials. */
export class ConnectionCredentials {
  private remembered: Remembered | undefined;

  async authenticate(access: AccessControl, request: RequestIdentity): Promise<Authentication> {
    const now = Date.now();
    const known = this.remembered;
    if (known !== undefined && known.access === access && known.authorization === request.authorization && known.until > now) return known.result;
    const presented = parseAuthorization(request.authorization);
    if (presented === undefined) return { accepted: false, code: 'malformed', detail: 'the Authorization header is neither Basic nor Bearer' };
    const result = await access.authenticate({
      username: presented.username,
      password: presented.password,
      remoteAddress: request.remoteAddress,
      listener: request.listener,
      certificateIdentity: request.certificateIdentity,
      signal: request.signal,
    });
    if (result.accepted) {
      const until = Math.min(now + CREDENTIAL_REUSE_MS, result.expiresAt ?? Number.POSITIVE_INFINITY);
      this.remembered = { authorization: request.authorization, access, until, result };
    } else {
      this.remembered = undefined;
    }
    return result;
  }
}

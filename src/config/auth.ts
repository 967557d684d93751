/** The `auth` section: who may connect (users file, JWT, mTLS identity) and how failures are slowed. */
import { deepFreeze } from './freeze.js';
import {
  isPlainObject,
  MAX_TIMER_MS,
  readBoolean,
  readInteger,
  readOneOf,
  readPath,
  readSection,
  readString,
  type Problems,
} from './readers.js';

/** How a verified mTLS client certificate takes part in authentication. */
export type CertificateAuthMode = 'ignore' | 'optional' | 'required';

/** What a denied PUBLISH does to an MQTT 3.1.1 client (MQTT 5 always gets a 0x87 acknowledgement). */
export type DeniedPublish311 = 'disconnect' | 'drop';

export interface JwtConfig {
  /** HS256 secret (UTF-8). At most one of `secret` and `secretFile`. */
  readonly secret?: string;
  /** Absolute path of a file holding the HS256 secret (trailing newline ignored). */
  readonly secretFile?: string;
  /** Absolute path of a PEM file with RS256 (RSA) and/or ES256 (EC P-256) public keys or certificates. */
  readonly publicKeyFile?: string;
  /** When set, the token's `iss` must equal it. */
  readonly issuer?: string;
  /** When set, the token's `aud` must contain it. */
  readonly audience?: string;
  /** Claim holding the client's identity. Default `sub`. */
  readonly usernameClaim: string;
  /** Clock difference tolerated on `exp` and `nbf`, in seconds. Default 30. */
  readonly clockToleranceSeconds: number;
  /** Refuse tokens without `exp`. Default true. */
  readonly requireExpiry: boolean;
}

export interface FailureDelayConfig {
  /** Wait before checking the next attempt from an address after its first failure, in ms. Default 250. */
  readonly initialMs: number;
  /** The wait doubles with each further failure up to this, in ms. Default 10000. */
  readonly maxMs: number;
  /** An address is forgotten this long after its last failure, in seconds. Default 600. */
  readonly forgetAfterSeconds: number;
  /** Most addresses remembered; the least recently failing are forgotten first. Default 10000. */
  readonly maxAddresses: number;
}

export interface AuthConfig {
  /** Accept clients that present no credentials. Default false. */
  readonly anonymous: boolean;
  /** Absolute path of the users file (password hashes and ACLs). Default none. */
  readonly usersFile?: string;
  /** JWT as the MQTT password. Default none. */
  readonly jwt?: JwtConfig;
  /** mTLS client certificate identity as the username. Default `ignore`. */
  readonly certificate: CertificateAuthMode;
  /** MQTT 3.1.1 client publishing where the ACL denies it. Default `disconnect`. */
  readonly deniedPublish311: DeniedPublish311;
  readonly failureDelay: FailureDelayConfig;
  /**
   * How often the users file and the JWT key files are checked for changes, in ms; 0 = only on
   * reload (SIGHUP). Default 1000.
   */
  readonly watchIntervalMs: number;
}

export type JwtDefaults = Pick<JwtConfig, 'usernameClaim' | 'clockToleranceSeconds' | 'requireExpiry'>;

export const AUTH_DEFAULTS: AuthConfig = deepFreeze<AuthConfig>({
  anonymous: false,
  certificate: 'ignore',
  deniedPublish311: 'disconnect',
  failureDelay: { initialMs: 250, maxMs: 10_000, forgetAfterSeconds: 600, maxAddresses: 10_000 },
  watchIntervalMs: 1000,
});

/** Defaults of `auth.jwt`'s optional fields. */
export const JWT_DEFAULTS: JwtDefaults = deepFreeze<JwtDefaults>({ usernameClaim: 'sub', clockToleranceSeconds: 30, requireExpiry: true });

const AUTH_KEYS = ['anonymous', 'usersFile', 'jwt', 'certificate', 'deniedPublish311', 'failureDelay', 'watchIntervalMs'] as const;
const JWT_KEYS = ['secret', 'secretFile', 'publicKeyFile', 'issuer', 'audience', 'usernameClaim', 'clockToleranceSeconds', 'requireExpiry'] as const;
const FAILURE_DELAY_KEYS = ['initialMs', 'maxMs', 'forgetAfterSeconds', 'maxAddresses'] as const;
const CERTIFICATE_MODES: readonly CertificateAuthMode[] = ['ignore', 'optional', 'required'];
const DENIED_PUBLISH_311: readonly DeniedPublish311[] = ['disconnect', 'drop'];

/** `baseDirectory`: where relative users and key file paths start (the config file's directory). */
export function readAuth(value: unknown, baseDirectory: string, problems: Problems): AuthConfig {
  const before = problems.list.length;
  const section = readSection(value, 'auth', AUTH_KEYS, problems);
  const defaults = AUTH_DEFAULTS;
  const anonymous = readBoolean(section['anonymous'], 'auth.anonymous', problems, defaults.anonymous);
  const usersFile = readPath(section['usersFile'], 'auth.usersFile', baseDirectory, problems);
  const jwt = readJwt(section['jwt'], baseDirectory, problems);
  const certificate = readOneOf(section['certificate'], 'auth.certificate', CERTIFICATE_MODES, problems, defaults.certificate);
  const deniedPublish311 = readOneOf(section['deniedPublish311'], 'auth.deniedPublish311', DENIED_PUBLISH_311, problems, defaults.deniedPublish311);
  const failureDelay = readFailureDelay(section['failureDelay'], problems);
  const watchIntervalMs = readInteger(section['watchIntervalMs'], 'auth.watchIntervalMs', 0, MAX_TIMER_MS, problems, defaults.watchIntervalMs);
  // With a problem in this section already reported (a misspelt `anonymus`), this one would be noise.
  if (!anonymous && usersFile === undefined && jwt === undefined && certificate === 'ignore' && problems.list.length === before) {
    const why = section['anonymous'] === undefined ? 'anonymous access is off by default' : 'anonymous access is off';
    problems.report(
      'auth.anonymous',
      `no client could connect: ${why} and no authentication method is configured; ` +
        'set auth.usersFile, auth.jwt or auth.certificate, or auth.anonymous: true',
    );
  }
  return {
    anonymous,
    ...(usersFile !== undefined && { usersFile }),
    ...(jwt !== undefined && { jwt }),
    certificate,
    deniedPublish311,
    failureDelay,
    watchIntervalMs,
  };
}

function readJwt(value: unknown, baseDirectory: string, problems: Problems): JwtConfig | undefined {
  if (value === undefined || value === null) return undefined;
  const section = readSection(value, 'auth.jwt', JWT_KEYS, problems);
  const optionalString = (key: string): string | undefined =>
    section[key] === undefined ? undefined : readString(section[key], `auth.jwt.${key}`, problems, '') || undefined;
  const secret = optionalString('secret');
  const secretFile = readPath(section['secretFile'], 'auth.jwt.secretFile', baseDirectory, problems);
  const publicKeyFile = readPath(section['publicKeyFile'], 'auth.jwt.publicKeyFile', baseDirectory, problems);
  if (secret !== undefined && secretFile !== undefined) problems.report('auth.jwt.secretFile', 'give secret or secretFile, not both');
  if (secret === undefined && secretFile === undefined && publicKeyFile === undefined && isPlainObject(value)) {
    problems.report('auth.jwt', 'needs secret or secretFile (HS256), or publicKeyFile (RS256, ES256)');
  }
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    problems.report('auth.jwt.secret', 'an HS256 secret must be at least 32 bytes (256 bits)');
  }
  const issuer = optionalString('issuer');
  const audience = optionalString('audience');
  const defaults = JWT_DEFAULTS;
  return {
    ...(secret !== undefined && { secret }),
    ...(secretFile !== undefined && { secretFile }),
    ...(publicKeyFile !== undefined && { publicKeyFile }),
    ...(issuer !== undefined && { issuer }),
    ...(audience !== undefined && { audience }),
    usernameClaim: readString(section['usernameClaim'], 'auth.jwt.usernameClaim', problems, defaults.usernameClaim),
    clockToleranceSeconds: readInteger(section['clockToleranceSeconds'], 'auth.jwt.clockToleranceSeconds', 0, 86400, problems, defaults.clockToleranceSeconds),
    requireExpiry: readBoolean(section['requireExpiry'], 'auth.jwt.requireExpiry', problems, defaults.requireExpiry),
  };
}

function readFailureDelay(value: unknown, problems: Problems): FailureDelayConfig {
  const section = readSection(value, 'auth.failureDelay', FAILURE_DELAY_KEYS, problems);
  const defaults = AUTH_DEFAULTS.failureDelay;
  const initialMs = readInteger(section['initialMs'], 'auth.failureDelay.initialMs', 0, 60_000, problems, defaults.initialMs);
  const maxMs = readInteger(section['maxMs'], 'auth.failureDelay.maxMs', 0, 600_000, problems, defaults.maxMs);
  if (maxMs < initialMs) problems.report('auth.failureDelay.maxMs', `must not be below initialMs (${initialMs})`);
  return {
    initialMs,
    maxMs,
    forgetAfterSeconds: readInteger(section['forgetAfterSeconds'], 'auth.failureDelay.forgetAfterSeconds', 1, 86400 * 7, problems, defaults.forgetAfterSeconds),
    maxAddresses: readInteger(section['maxAddresses'], 'auth.failureDelay.maxAddresses', 1, 10_000_000, problems, defaults.maxAddresses),
  };
}

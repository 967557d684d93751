/**
 * Password hashes in the users file: `scrypt$N$r$p$SALT$HASH`, salt and hash in standard base64.
 * The string carries its own parameters, so stronger ones can be adopted later without breaking
 * existing hashes.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParameters {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelism. */
  readonly p: number;
}

/** 2^15 x 8 x 128 bytes = 32 MiB and roughly 50-100 ms per hash on a server core. */
export const DEFAULT_SCRYPT_PARAMETERS: ScryptParameters = { N: 32768, r: 8, p: 1 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Bounds a users file cannot exceed, so one entry cannot make every login take seconds or gigabytes. */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_MEMORY_BYTES = 256 * 1024 * 1024;

export interface ParsedHash {
  readonly parameters: ScryptParameters;
  readonly salt: Buffer;
  readonly key: Buffer;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Why `text` is not a usable hash, or the parsed hash. */
export function parsePasswordHash(text: string): ParsedHash | { readonly problem: string } {
  const parts = text.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') {
    return { problem: 'expected scrypt$N$r$p$SALT$HASH (print one with: mqtt-kafka-proxy passwd)' };
  }
  const [, nText, rText, pText, saltText, keyText] = parts as [string, string, string, string, string, string];
  const [N, r, p] = [nText, rText, pText].map((t) => (/^[0-9]{1,8}$/.test(t) ? Number(t) : Number.NaN)) as [number, number, number];
  if (!Number.isInteger(N) || N < 2 || N > MAX_N || (N & (N - 1)) !== 0) return { problem: `N must be a power of two from 2 to ${MAX_N}, got ${nText}` };
  if (!Number.isInteger(r) || r < 1 || r > MAX_R) return { problem: `r must be from 1 to ${MAX_R}, got ${rText}` };
  if (!Number.isInteger(p) || p < 1 || p > MAX_P) return { problem: `p must be from 1 to ${MAX_P}, got ${pText}` };
  if (memoryFor({ N, r, p }) > MAX_MEMORY_BYTES) return { problem: `N=${N}, r=${r}, p=${p} would need more than ${MAX_MEMORY_BYTES / 1048576} MiB per check` };
  if (!BASE64.test(saltText) || !BASE64.test(keyText)) return { problem: 'salt and hash must be base64' };
  const salt = Buffer.from(saltText, 'base64');
  const key = Buffer.from(keyText, 'base64');
  if (salt.length < 8) return { problem: 'the salt must be at least 8 bytes' };
  if (key.length < 16 || key.length > 128) return { problem: 'the hash must be 16 to 128 bytes' };
  return { parameters: { N, r, p }, salt, key };
}

export function isParsedHash(value: ParsedHash | { readonly problem: string }): value is ParsedHash {
  return !('problem' in value);
}

function memoryFor({ N, r, p }: ScryptParameters): number {
  return 128 * N * r + 128 * r * p + 1024 * 1024;
}

function derive(password: Buffer | string, salt: Buffer, length: number, parameters: ScryptParameters): Promise<Buffer> {
  const options: ScryptOptions = { N: parameters.N, r: parameters.r, p: parameters.p, maxmem: memoryFor(parameters) * 2 };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, length, options, (error, key) => (error === null ? resolve(key) : reject(error)));
  });
}

/** A new hash of `password` with a random salt. */
export async function hashPassword(password: string | Buffer, parameters: ScryptParameters = DEFAULT_SCRYPT_PARAMETERS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, parameters);
  return `scrypt$${parameters.N}$${parameters.r}$${parameters.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** True when `password` hashes to `hash`; the comparison takes the same time wherever they differ. */
export async function verifyPassword(password: Buffer | string, hash: ParsedHash): Promise<boolean> {
  const key = await derive(password, hash.salt, hash.key.length, hash.parameters);
  return timingSafeEqual(key, hash.key);
}

/**
 * Spends the time of one verification without a stored hash, so an unknown username takes as long
 * to refuse as a wrong password and usernames cannot be probed by timing.
 */
export async function spendVerificationTime(password: Buffer | string): Promise<void> {
  await derive(password, DUMMY_SALT, KEY_BYTES, DEFAULT_SCRYPT_PARAMETERS);
}

const DUMMY_SALT = randomBytes(SALT_BYTES);

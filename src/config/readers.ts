/**
 * Generic readers of one YAML value, shared by the section modules. Each reports a problem and
 * returns a fallback, so validation goes on and finds the other problems too; the fallback never
 * escapes because any problem throws at the end.
 */
import { resolve } from 'node:path';
import type { ConfigProblem } from './errors.js';
import { closestKey } from './suggest.js';
import { kafkaTopicProblem } from '../common/kafka-topic.js';

/** Collects problems for one file. */
export class Problems {
  readonly list: ConfigProblem[] = [];
  constructor(readonly file: string) {}

  report(path: string, problem: string): void {
    this.list.push({ file: this.file, path, problem });
  }

  addAll(problems: readonly ConfigProblem[]): void {
    this.list.push(...problems);
  }
}

export type RawObject = Record<string, unknown>;

/** Largest delay Node timers accept (2^31 - 1 ms); longer ones fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

export function isPlainObject(value: unknown): value is RawObject {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Uint8Array) return 'binary data';
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value)}`;
    case 'number':
      return `the number ${value}`;
    case 'boolean':
      return String(value);
    case 'object':
      return isPlainObject(value) ? 'a mapping' : 'a YAML collection of another kind';
    default:
      return typeof value;
  }
}

export function describeFileError(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory, not a file';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

export function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

export function checkKeys(object: RawObject, known: readonly string[], path: string, problems: Problems): void {
  for (const key of Object.keys(object)) {
    if (known.includes(key)) continue;
    const suggestion = closestKey(key, known);
    problems.report(
      join(path, key),
      suggestion === undefined ? `unknown key (known keys here: ${known.join(', ')})` : `unknown key; did you mean "${suggestion}"?`,
    );
  }
}

/** A mapping section; absent or null means "all defaults" and reads as an empty object. */
export function readSection(value: unknown, path: string, known: readonly string[], problems: Problems): RawObject {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) {
    problems.report(path, `expected a mapping (keys: ${known.join(', ')}), got ${describeValue(value)}`);
    return {};
  }
  checkKeys(value, known, path, problems);
  return value;
}

export function readInteger(value: unknown, path: string, min: number, max: number, problems: Problems, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  problems.report(path, `expected an integer from ${min} to ${max}, got ${describeValue(value)}`);
  return fallback;
}

export function readPort(value: unknown, path: string, min: 0 | 1, problems: Problems, fallback: number): number {
  return readInteger(value, path, min, 65535, problems, fallback);
}

export function readString(value: unknown, path: string, problems: Problems, fallback: string, what = 'a non-empty string'): string {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && value !== '') return value;
  problems.report(path, `expected ${what}, got ${describeValue(value)}`);
  return fallback;
}

/** A host name or address to bind: whitespace is refused (and the fallback used). */
export function readHost(value: unknown, path: string, problems: Problems, fallback: string): string {
  const host = readString(value, path, problems, fallback, 'a host name or IP address');
  if (!/\s/.test(host)) return host;
  problems.report(path, `a host cannot contain whitespace, got ${JSON.stringify(host)}`);
  return fallback;
}

export function readRequiredString(object: RawObject, key: string, path: string, problems: Problems, what: string): string | undefined {
  const value = object[key];
  if (value === undefined) {
    problems.report(join(path, key), `is required (${what})`);
    return undefined;
  }
  if (typeof value === 'string' && value !== '') return value;
  problems.report(join(path, key), `expected ${what}, got ${describeValue(value)}`);
  return undefined;
}

export function readBoolean(value: unknown, path: string, problems: Problems, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  problems.report(path, `expected true or false, got ${describeValue(value)}`);
  return fallback;
}

export function readOneOf<T extends string>(value: unknown, path: string, allowed: readonly T[], problems: Problems, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  problems.report(path, `expected one of ${allowed.join(', ')}, got ${describeValue(value)}`);
  return fallback;
}

/** A file path; relative paths are taken from the configuration file's directory. */
export function readPath(value: unknown, path: string, baseDirectory: string, problems: Problems): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = readString(value, path, problems, '', 'a file path');
  return text === '' ? undefined : resolve(baseDirectory, text);
}

/** A Kafka topic name (validated as Kafka does); `fallback` when absent or wrong (the problem is reported). */
export function readKafkaTopicName(value: unknown, path: string, problems: Problems, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') {
    problems.report(path, `expected a Kafka topic name, got ${describeValue(value)}`);
    return fallback;
  }
  const problem = kafkaTopicProblem(value);
  if (problem === null) return value;
  problems.report(path, problem);
  return fallback;
}

/**
 * The users file: password hashes and topic ACLs, in YAML.
 *
 * ```yaml
 * users:
 *   - username: alice
 *     password: scrypt$32768$8$1$SALT$HASH   # optional: without it, alice logs in by JWT or certificate only
 *     acl:                                    # optional, checked first for alice
 *       - allow: devices/%u/#
 *       - allow: commands/%u/#
 *         access: subscribe                   # publish | subscribe | both (the default)
 *       - deny: '#'
 * acl:                                        # optional
 *   authenticated: [{ allow: 'shared/%c/#' }]  # every client with a username, after its own rules
 *   anonymous: [{ allow: public/# }]           # clients without a username
 * ```
 *
 * ACLs are in force as soon as any rule appears in the file; then whatever no rule allows is denied.
 */
import { parseDocument } from 'yaml';
import { ConfigError, type ConfigProblem } from '../config/errors.js';
import { ACL_ACCESS_VALUES, topicFilterProblem, type AclAccess, type AclPolicy, type AclRule } from './acl.js';
import { isParsedHash, parsePasswordHash, type ParsedHash } from './password-hash.js';

export interface UserEntry {
  readonly username: string;
  /** Absent: this user cannot log in with a password. */
  readonly password: ParsedHash | undefined;
}

export interface UsersDatabase {
  readonly users: ReadonlyMap<string, UserEntry>;
  /** Undefined when the file has no ACL rule at all: every publish is allowed. */
  readonly acl: AclPolicy | undefined;
}

const TOP_KEYS = ['users', 'acl'];
const USER_KEYS = ['username', 'password', 'acl'];
const ACL_KEYS = ['authenticated', 'anonymous'];

/** Parses and validates a users file; throws ConfigError listing every problem as `FILE: PATH: PROBLEM`. */
export function parseUsersFile(text: string, file: string): UsersDatabase {
  const problems: ConfigProblem[] = [];
  const report = (path: string, problem: string): void => {
    problems.push({ file, path, problem });
  };
  const document = parseDocument(text, { uniqueKeys: true });
  for (const error of document.errors) {
    const position = error.linePos?.[0];
    report(position === undefined ? '' : `line ${position.line}, column ${position.col}`, `YAML syntax error: ${error.message.split('\n')[0]}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  let raw: unknown;
  try {
    raw = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError(file, '', `YAML error: ${(error as Error).message}`);
  }
  if (raw === null || raw === undefined) raw = {};
  if (!isObject(raw)) throw new ConfigError(file, '', 'expected a mapping with users and acl');
  checkKeys(raw, TOP_KEYS, '', report);

  const users = new Map<string, UserEntry>();
  const userRules = new Map<string, readonly AclRule[]>();
  let anyRule = false;
  const rawUsers = raw['users'];
  if (rawUsers !== undefined && rawUsers !== null && !Array.isArray(rawUsers)) {
    report('users', 'expected a list of { username, password, acl }');
  } else {
    for (const [index, item] of ((rawUsers as unknown[] | null | undefined) ?? []).entries()) {
      const path = `users[${index}]`;
      if (!isObject(item)) {
        report(path, 'expected a mapping { username, password, acl }');
        continue;
      }
      checkKeys(item, USER_KEYS, path, report);
      const username = item['username'];
      if (typeof username !== 'string' || username === '') {
        report(`${path}.username`, 'is required: a non-empty string');
        continue;
      }
      if (users.has(username)) report(`${path}.username`, `${JSON.stringify(username)} is listed twice`);
      let password: ParsedHash | undefined;
      if (item['password'] !== undefined && item['password'] !== null) {
        if (typeof item['password'] !== 'string') {
          report(`${path}.password`, 'expected a hash string from mqtt-kafka-proxy passwd');
        } else {
          const parsed = parsePasswordHash(item['password']);
          if (isParsedHash(parsed)) password = parsed;
          else report(`${path}.password`, parsed.problem);
        }
      }
      users.set(username, { username, password });
      if (item['acl'] !== undefined) {
        userRules.set(username, readRules(item['acl'], `${path}.acl`, report));
        anyRule = true;
      }
    }
  }

  let authenticated: readonly AclRule[] = [];
  let anonymous: readonly AclRule[] = [];
  const rawAcl = raw['acl'];
  if (rawAcl !== undefined && rawAcl !== null) {
    if (!isObject(rawAcl)) {
      report('acl', 'expected a mapping { authenticated: [rules], anonymous: [rules] }');
    } else {
      checkKeys(rawAcl, ACL_KEYS, 'acl', report);
      if (rawAcl['authenticated'] !== undefined) authenticated = readRules(rawAcl['authenticated'], 'acl.authenticated', report);
      if (rawAcl['anonymous'] !== undefined) anonymous = readRules(rawAcl['anonymous'], 'acl.anonymous', report);
      anyRule = true;
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { users, acl: anyRule ? { users: userRules, authenticated, anonymous } : undefined };
}

function readRules(value: unknown, path: string, report: (path: string, problem: string) => void): AclRule[] {
  if (value === null) return [];
  if (!Array.isArray(value)) {
    report(path, 'expected a list of rules such as { allow: devices/%u/# } or { deny: "#" }');
    return [];
  }
  const rules: AclRule[] = [];
  for (const [index, item] of value.entries()) {
    const rule = readRule(item, `${path}[${index}]`, report);
    if (rule !== undefined) rules.push(rule);
  }
  return rules;
}

const RULE_SHAPE = 'exactly one of { allow: FILTER } or { deny: FILTER }, and optionally access: publish, subscribe or both';

function readRule(item: unknown, rulePath: string, report: (path: string, problem: string) => void): AclRule | undefined {
  const effects = isObject(item) ? Object.keys(item).filter((key) => key !== 'access') : [];
  if (!isObject(item) || effects.length !== 1 || (effects[0] !== 'allow' && effects[0] !== 'deny')) {
    report(rulePath, `expected ${RULE_SHAPE}`);
    return undefined;
  }
  const effect = effects[0];
  const filter = item[effect];
  const access = readAccess(item['access'], `${rulePath}.access`, report);
  if (typeof filter !== 'string') {
    report(`${rulePath}.${effect}`, 'expected an MQTT topic filter string (quote # in YAML: "#")');
    return undefined;
  }
  const problem = topicFilterProblem(filter);
  if (problem !== null) {
    report(`${rulePath}.${effect}`, problem);
    return undefined;
  }
  if (access === null) return undefined;
  // A rule without access is about both; it is kept as written.
  return access === undefined ? { effect, filter } : { effect, filter, access };
}

/** undefined: not given (both); null: a problem was reported. */
function readAccess(value: unknown, path: string, report: (path: string, problem: string) => void): AclAccess | undefined | null {
  if (value === undefined) return undefined;
  const access = ACL_ACCESS_VALUES.find((known) => known === value);
  if (access !== undefined) return access;
  report(path, `expected publish, subscribe or both, got ${JSON.stringify(value) ?? String(value)}`);
  return null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(object: Record<string, unknown>, known: readonly string[], path: string, report: (path: string, problem: string) => void): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) report(path === '' ? key : `${path}.${key}`, `unknown key (known keys here: ${known.join(', ')})`);
  }
}

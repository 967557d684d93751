/**
 * Topic ACLs for PUBLISH, pure. Rules are MQTT topic filters (`+` one level, `#` the rest) with
 * Mosquitto's `%u` (username) and `%c` (client id) substitution. The first matching rule decides;
 * a topic no rule matches is denied.
 */

export type AclEffect = 'allow' | 'deny';

export interface AclRule {
  readonly effect: AclEffect;
  /** MQTT topic filter, possibly with `%u` and `%c`. */
  readonly filter: string;
}

export interface AclPolicy {
  /** Rules per username, checked first for that user. */
  readonly users: ReadonlyMap<string, readonly AclRule[]>;
  /** Checked for every client that has a username, after its own rules. */
  readonly authenticated: readonly AclRule[];
  /** Checked for clients without a username. */
  readonly anonymous: readonly AclRule[];
}

export interface AclSubject {
  readonly username: string | undefined;
  readonly clientId: string;
}

export type AclDecision =
  | { readonly allowed: true; readonly rule: AclRule }
  | { readonly allowed: false; readonly rule: AclRule | undefined };

/** Decides whether `subject` may publish to `topic`. */
export function checkPublish(policy: AclPolicy, subject: AclSubject, topic: string): AclDecision {
  const own = subject.username === undefined ? undefined : policy.users.get(subject.username);
  const general = subject.username === undefined ? policy.anonymous : policy.authenticated;
  for (const rules of [own ?? [], general]) {
    for (const rule of rules) {
      const filter = substitute(rule.filter, subject);
      if (filter !== undefined && topicMatches(filter, topic)) {
        return rule.effect === 'allow' ? { allowed: true, rule } : { allowed: false, rule };
      }
    }
  }
  return { allowed: false, rule: undefined };
}

/**
 * The filter with `%u` and `%c` replaced, or undefined when the rule cannot apply: the value is
 * missing (`%u` for an anonymous client) or contains `/`, `+` or `#`, which would let one client's
 * name reach into another client's part of the topic tree.
 */
export function substitute(filter: string, subject: AclSubject): string | undefined {
  if (!filter.includes('%')) return filter;
  let usable = true;
  const result = filter.replace(/%([uc])/g, (_match, which: string) => {
    const value = which === 'u' ? subject.username : subject.clientId;
    if (value === undefined || value === '' || /[/+#]/.test(value)) {
      usable = false;
      return '';
    }
    return value;
  });
  return usable ? result : undefined;
}

/**
 * MQTT topic matching (MQTT 5.0 section 4.7): `+` matches exactly one level, `#` (last) matches the
 * parent level and everything below; wildcards at the first level do not match topics starting
 * with `$` (MQTT-4.7.2-1).
 */
export function topicMatches(filter: string, topic: string): boolean {
  const filterLevels = filter.split('/');
  const topicLevels = topic.split('/');
  if (topic.startsWith('$') && (filterLevels[0] === '+' || filterLevels[0] === '#')) return false;
  for (let i = 0; i < filterLevels.length; i++) {
    const level = filterLevels[i]!;
    if (level === '#') return true;
    if (i >= topicLevels.length) return false;
    if (level !== '+' && level !== topicLevels[i]) return false;
  }
  return filterLevels.length === topicLevels.length;
}

/** Why `filter` is not a valid MQTT topic filter, or null. */
export function topicFilterProblem(filter: string): string | null {
  if (filter === '') return 'a topic filter cannot be empty';
  if (filter.includes('\u0000')) return 'a topic filter cannot contain the null character';
  const levels = filter.split('/');
  for (const [index, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || index !== levels.length - 1)) return '# must be a whole level and the last one';
    if (level.includes('+') && level !== '+') return '+ must be a whole level';
  }
  if (/%[^uc]|%$/.test(filter)) return 'only %u (username) and %c (client id) may follow %';
  return null;
}

/**
 * Topic ACLs, pure. Rules are MQTT topic filters (`+` one level, `#` the rest) with Mosquitto's
 * `%u` (username) and `%c` (client id) substitution, each for publishing, subscribing or both.
 * The first matching rule decides; what no rule matches is denied.
 *
 * - PUBLISH: a rule matches when its filter matches the topic.
 * - SUBSCRIBE: a rule matches when its filter covers the subscription's: every topic the
 *   subscription can match, the rule's filter matches too (Mosquitto's rule). `allow: devices/#`
 *   covers `devices/+/status`; `allow: devices/+` does not cover `devices/#`.
 * - Delivery: each message to a subscriber is checked again by its concrete topic, so a subscription
 *   allowed by a broad rule still receives nothing a narrower deny rule before it refuses.
 */

export type AclEffect = 'allow' | 'deny';

/** What a rule is about: publishing, subscribing (and receiving), or both. */
export type AclAccess = 'publish' | 'subscribe' | 'both';

export const ACL_ACCESS_VALUES: readonly AclAccess[] = ['publish', 'subscribe', 'both'];

export interface AclRule {
  readonly effect: AclEffect;
  /** MQTT topic filter, possibly with `%u` and `%c`. */
  readonly filter: string;
  /** Which actions the rule decides; absent: both. */
  readonly access?: AclAccess;
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

/** The first rule about `action` whose (substituted) filter `applies`, in the subject's order. */
function firstMatching(
  policy: AclPolicy,
  subject: AclSubject,
  action: 'publish' | 'subscribe',
  applies: (filter: string) => boolean,
): AclDecision {
  const own = subject.username === undefined ? undefined : policy.users.get(subject.username);
  const general = subject.username === undefined ? policy.anonymous : policy.authenticated;
  for (const rules of [own ?? [], general]) {
    for (const rule of rules) {
      const access = rule.access ?? 'both';
      if (access !== 'both' && access !== action) continue;
      const filter = substitute(rule.filter, subject);
      if (filter !== undefined && applies(filter)) {
        return rule.effect === 'allow' ? { allowed: true, rule } : { allowed: false, rule };
      }
    }
  }
  return { allowed: false, rule: undefined };
}

/** Decides whether `subject` may publish to `topic`. */
export function checkPublish(policy: AclPolicy, subject: AclSubject, topic: string): AclDecision {
  return firstMatching(policy, subject, 'publish', (filter) => topicMatches(filter, topic));
}

/**
 * Decides whether `subject` may subscribe to `filter` (a valid filter, without any `$share/`
 * prefix): the first subscribe rule whose filter covers it decides.
 */
export function checkSubscribe(policy: AclPolicy, subject: AclSubject, filter: string): AclDecision {
  return firstMatching(policy, subject, 'subscribe', (ruleFilter) => filterCovers(ruleFilter, filter));
}

/** Decides whether a message on `topic` may be delivered to `subject` (it subscribed already). */
export function checkReceive(policy: AclPolicy, subject: AclSubject, topic: string): AclDecision {
  return firstMatching(policy, subject, 'subscribe', (filter) => topicMatches(filter, topic));
}

/**
 * Does `outer` match every topic name `inner` matches? Level by level: `#` in `outer` covers the
 * rest (and the parent level); `+` covers one level of anything but `#`; fixed text only itself.
 * A first-level wildcard in `outer` matches no `$` topic, so it covers a filter whose first level
 * is fixed text only when that text does not start with `$` [MQTT-4.7.2-1].
 */
export function filterCovers(outer: string, inner: string): boolean {
  const o = outer.split('/');
  const i = inner.split('/');
  if ((o[0] === '+' || o[0] === '#') && i[0]!.startsWith('$')) return false;
  for (let level = 0; level < o.length; level++) {
    const rule = o[level]!;
    if (rule === '#') return true;
    if (level >= i.length) return false;
    const sub = i[level]!;
    if (sub === '#') return false;
    if (rule !== '+' && rule !== sub) return false;
  }
  return o.length === i.length;
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

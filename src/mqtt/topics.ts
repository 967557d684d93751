// Topic names and topic filters (MQTT 3.1.1 section 4.7, MQTT 5.0 sections 4.7 and 4.8).
import type { ProtocolVersion } from './types.js';

/** Why a topic name or filter is refused. */
export type TopicProblem = {
  /** Human text for the log and for an MQTT 5 reason string. */
  readonly reason: string;
  /**
   * True when the string breaks the rules of every UTF-8 string in MQTT (U+0000, a lone surrogate,
   * more than 65,535 bytes): the whole packet is malformed [MQTT-1.5.4-1, MQTT-1.5.4-2 (5.0);
   * MQTT-1.5.3-1, MQTT-1.5.3-2 (3.1.1)]. False when only this topic or filter is not allowed.
   */
  readonly malformed: boolean;
};

export interface TopicFilter {
  /** What is matched against topic names: the filter without any `$share/{group}/` prefix. */
  readonly filter: string;
  /** The ShareName of an MQTT 5 shared subscription, undefined for any other. */
  readonly shareGroup: string | undefined;
  /** The filter contains `+` or `#`. */
  readonly wildcard: boolean;
}

const NUL = 0x00;
const HASH = 0x23; // #
const DOLLAR = 0x24; // $
const PLUS = 0x2b; // +
const SLASH = 0x2f; // /
const MAX_STRING_BYTES = 65_535;
const SHARE_PREFIX = '$share/';

/** An MQTT string is at most 65,535 UTF-8 bytes; a UTF-16 code unit takes at most 3 of them. */
function tooLong(text: string): boolean {
  return text.length * 3 > MAX_STRING_BYTES && Buffer.byteLength(text, 'utf8') > MAX_STRING_BYTES;
}

/**
 * The first rule of MQTT strings that `text` breaks, or with `name` set the first rule of topic
 * names too (no wildcard characters); undefined when none.
 */
function stringProblem(text: string, name: boolean): TopicProblem | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === NUL) return { reason: 'contains U+0000', malformed: true };
    if (name && (c === PLUS || c === HASH)) {
      return { reason: `topic name contains the wildcard ${String.fromCharCode(c)}`, malformed: false };
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      // A high surrogate followed by a low one is one code point outside the BMP: fine.
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
      else return { reason: 'contains a lone surrogate (not well-formed UTF-8)', malformed: true };
    }
  }
  if (tooLong(text)) return { reason: 'longer than 65,535 UTF-8 bytes', malformed: true };
  return undefined;
}

/**
 * PUBLISH topic name: non-empty (unless a topic alias stands in for it, which the caller checks),
 * no `+` or `#`, no U+0000, well-formed, at most 65,535 UTF-8 bytes. undefined when valid.
 * [MQTT-4.7.3-1, MQTT-4.7.3-2, MQTT-4.7.3-3, MQTT-3.3.2-2, MQTT-4.7.0-1 (5.0) / MQTT-4.7.1-1 (3.1.1)]
 */
export function topicNameProblem(topic: string): TopicProblem | undefined {
  if (topic.length === 0) return { reason: 'empty topic name', malformed: false };
  return stringProblem(topic, true);
}

/** Where `+` and `#` may stand in a filter: each alone in its level, `#` only as the last level. */
function wildcardProblem(filter: string): TopicProblem | undefined {
  for (let i = 0; i < filter.length; i++) {
    const c = filter.charCodeAt(i);
    if (c !== PLUS && c !== HASH) continue;
    const aloneBefore = i === 0 || filter.charCodeAt(i - 1) === SLASH;
    if (c === HASH) {
      if (!aloneBefore || i !== filter.length - 1) {
        return { reason: "'#' must be alone in the last level of a filter", malformed: false };
      }
    } else if (!aloneBefore || (i + 1 < filter.length && filter.charCodeAt(i + 1) !== SLASH)) {
      return { reason: "'+' must occupy a whole level of a filter", malformed: false };
    }
  }
  return undefined;
}

function hasWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}

/** `$share/{ShareName}/{filter}` [MQTT-4.8.2-1, MQTT-4.8.2-2]. */
function parseShared(raw: string): TopicFilter | TopicProblem {
  const rest = raw.slice(SHARE_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash === -1) return { reason: 'a shared subscription needs $share/{ShareName}/{filter}', malformed: false };
  const shareGroup = rest.slice(0, slash);
  if (shareGroup.length === 0) return { reason: 'empty ShareName', malformed: false };
  if (shareGroup.includes('+') || shareGroup.includes('#')) {
    return { reason: "a ShareName must not contain '+' or '#'", malformed: false };
  }
  const filter = rest.slice(slash + 1);
  if (filter.length === 0) return { reason: 'a shared subscription needs a filter after its ShareName', malformed: false };
  return wildcardProblem(filter) ?? { filter, shareGroup, wildcard: hasWildcard(filter) };
}

/**
 * Validates a SUBSCRIBE / UNSUBSCRIBE topic filter: non-empty, `#` only alone in the last level,
 * `+` alone in its level, no U+0000; on MQTT 5 `$share/{ShareName}/{filter}` with a ShareName of
 * at least one character without `/`, `+` or `#` and a non-empty filter after it. On 3.1.1, where
 * shared subscriptions do not exist, `$share/...` is an ordinary filter.
 * [MQTT-4.7.1-2, MQTT-4.7.1-3 (3.1.1) / MQTT-4.7.1-1, MQTT-4.7.1-2 (5.0), MQTT-4.7.3-1,
 *  MQTT-4.7.3-2, MQTT-4.8.2-1, MQTT-4.8.2-2]
 */
export function parseTopicFilter(raw: string, protocolVersion: ProtocolVersion): TopicFilter | TopicProblem {
  if (raw.length === 0) return { reason: 'empty topic filter', malformed: false };
  const problem = stringProblem(raw, false);
  if (problem !== undefined) return problem;
  if (protocolVersion === 5 && raw.startsWith(SHARE_PREFIX)) return parseShared(raw);
  return wildcardProblem(raw) ?? { filter: raw, shareGroup: undefined, wildcard: hasWildcard(raw) };
}

export function isTopicProblem(value: TopicFilter | TopicProblem): value is TopicProblem {
  return 'reason' in value;
}

/**
 * Does the topic name `topic` match the (valid, unshared) filter `filter`? `+` matches exactly one
 * level, possibly empty; `#` matches the parent level and any number of levels below it; a filter
 * starting with a wildcard never matches a topic starting with `$` [MQTT-4.7.2-1]. Compared code
 * unit by code unit, without normalisation [MQTT-4.7.3-4]. Allocates nothing.
 */
export function topicMatches(filter: string, topic: string): boolean {
  const fl = filter.length;
  const tl = topic.length;
  if (tl > 0 && topic.charCodeAt(0) === DOLLAR && fl > 0) {
    const first = filter.charCodeAt(0);
    if (first === PLUS || first === HASH) return false;
  }
  let fi = 0;
  let ti = 0;
  while (fi < fl) {
    const fc = filter.charCodeAt(fi);
    if (fc === HASH) return true;
    if (fc === PLUS) {
      while (ti < tl && topic.charCodeAt(ti) !== SLASH) ti++;
      fi++;
      continue;
    }
    if (ti < tl && topic.charCodeAt(ti) === fc) {
      fi++;
      ti++;
      continue;
    }
    // `x/#` also matches `x` itself: the topic ended where the filter has only `/#` left.
    return ti === tl && fc === SLASH && fi + 2 === fl && filter.charCodeAt(fi + 1) === HASH;
  }
  return ti === tl;
}

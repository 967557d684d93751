// Interim version of the module the `outbound` branch owns (see its tests): the shapes the engine
// codes against, with the rules the engine needs. Replaced by that branch's file when merged.
import type { ProtocolVersion } from './types.js';

export type TopicProblem = { readonly reason: string };

export interface TopicFilter {
  readonly filter: string;
  readonly shareGroup: string | undefined;
  readonly wildcard: boolean;
}

const MAX_UTF8_BYTES = 65535;

/**
 * PUBLISH topic name: non-empty (unless an alias is used, checked by the caller), no + or #, no
 * U+0000, at most 65535 UTF-8 bytes. undefined when valid. [MQTT-4.7.3-1/-2, MQTT-4.7.1-1, MQTT-1.5.4-2]
 */
export function topicNameProblem(topic: string): TopicProblem | undefined {
  if (topic.length === 0) return { reason: 'empty topic name' };
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x2b || c === 0x23) return { reason: 'wildcard in topic name' };
    if (c === 0) return { reason: 'U+0000 in topic name' };
  }
  if (topic.length > MAX_UTF8_BYTES / 3 && Buffer.byteLength(topic) > MAX_UTF8_BYTES) return { reason: 'topic name longer than 65535 bytes' };
  return undefined;
}

/** Validates a SUBSCRIBE/UNSUBSCRIBE filter. [MQTT-4.7.1-2, -3, MQTT-4.7.3-1, MQTT-4.8.2-1, -2] */
export function parseTopicFilter(raw: string, protocolVersion: ProtocolVersion): TopicFilter | TopicProblem {
  if (raw.length === 0) return { reason: 'empty topic filter' };
  if (raw.includes('\u0000')) return { reason: 'U+0000 in topic filter' };
  let filter = raw;
  let shareGroup: string | undefined;
  if (protocolVersion === 5 && raw.startsWith('$share/')) {
    const slash = raw.indexOf('/', 7);
    shareGroup = slash === -1 ? raw.slice(7) : raw.slice(7, slash);
    if (shareGroup.length === 0 || /[+#]/.test(shareGroup)) return { reason: 'invalid share name' };
    if (slash === -1 || slash === raw.length - 1) return { reason: 'shared subscription without a filter' };
    filter = raw.slice(slash + 1);
  }
  const levels = filter.split('/');
  let wildcard = false;
  for (const [index, level] of levels.entries()) {
    if (level.includes('#')) {
      if (level !== '#' || index !== levels.length - 1) return { reason: '# not alone in the last level' };
      wildcard = true;
    } else if (level.includes('+')) {
      if (level !== '+') return { reason: '+ not alone in its level' };
      wildcard = true;
    }
  }
  return { filter, shareGroup, wildcard };
}

/** Does `topic` match `filter` ($-topics are not matched by filters starting with + or #, MQTT-4.7.2-1). */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

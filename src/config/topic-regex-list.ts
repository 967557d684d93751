/**
 * Confluent MQTT Proxy's `topic.regex.list`: `kafkaTopic:regex,kafkaTopic:regex`, so its users can
 * bring their configuration. Each pair becomes a rule named `topic.regex.list[N]` whose key is the
 * MQTT topic (`${topic}`), as in Confluent's proxy.
 *
 * - Pairs are separated by commas; each pair splits on its FIRST colon (regexes may contain colons,
 *   Kafka topic names cannot). Whitespace around pairs, topics and regexes is trimmed.
 * - Java's `Matcher.matches()` requires the whole topic to match, so the regex is used as `^(?:regex)$`.
 * - Commas inside a regex: Confluent splits on every comma, so its regexes never contain one. We
 *   go further without breaking that: a comma separates pairs only at the top level of the regex.
 *   A comma inside (...), inside [...], inside a {n,m} quantifier, or escaped as `\,` belongs to
 *   the regex. So `t:\d{1,3}` and `t:(a|b,c)` are one pair each. A literal top-level comma must be
 *   written `\,` or `[,]`.
 * - An empty pair (a stray or trailing comma) is an error rather than silently ignored.
 */
import { ConfigError, type ConfigProblem } from './errors.js';
import type { MappingRuleConfig } from './mappings.js';
import { kafkaTopicProblem } from '../common/kafka-topic.js';
import { regexErrorReason } from '../common/regex-error.js';

export const TOPIC_REGEX_LIST_KEY = 'topic.regex.list';

/** `{n}`, `{n,}` or `{n,m}` at the current position: a quantifier, not literal braces. */
const BRACE_QUANTIFIER = /\{[0-9]+(?:,[0-9]*)?\}/y;

/** Index just past the regex that starts at `start`: the first top-level comma, or the end. */
function endOfRegex(text: string, start: number): number {
  let inClass = false;
  let parenDepth = 0;
  for (let i = start; i < text.length; i++) {
    const char = text[i];
    if (char === '\\') {
      i++; // the escaped character, whatever it is, is not syntax
    } else if (inClass) {
      if (char === ']') inClass = false;
    } else if (char === '[') {
      inClass = true;
    } else if (char === '(') {
      parenDepth++;
    } else if (char === ')') {
      if (parenDepth > 0) parenDepth--;
    } else if (char === '{') {
      BRACE_QUANTIFIER.lastIndex = i;
      if (BRACE_QUANTIFIER.test(text)) i = BRACE_QUANTIFIER.lastIndex - 1;
    } else if (char === ',' && parenDepth === 0) {
      return i;
    }
  }
  return text.length;
}

/**
 * Parses a `topic.regex.list` value into rules. Throws ConfigError listing every bad pair, each
 * named `topic.regex.list[N] "the pair as written"`.
 */
export function parseTopicRegexList(text: string, file: string): MappingRuleConfig[] {
  const problems: ConfigProblem[] = [];
  const rules: MappingRuleConfig[] = [];
  if (text.trim() === '') {
    throw new ConfigError(file, TOPIC_REGEX_LIST_KEY, 'is empty: expected kafkaTopic:regex pairs separated by commas');
  }

  let position = 0;
  for (let index = 0; position <= text.length; index++) {
    const name = `${TOPIC_REGEX_LIST_KEY}[${index}]`;
    const report = (problem: string, entry: string): void => {
      problems.push({ file, path: entry === '' ? name : `${name} ${JSON.stringify(entry)}`, problem });
    };

    // The Kafka topic runs to the first colon; a comma before any colon ends a pair without one.
    let colon = position;
    while (colon < text.length && text[colon] !== ':' && text[colon] !== ',') colon++;
    if (colon === text.length || text[colon] === ',') {
      const entry = text.slice(position, colon).trim();
      report(entry === '' ? 'empty pair (a stray comma?)' : "missing ':' between the Kafka topic and the regex", entry);
      position = colon + 1;
      continue;
    }

    const end = endOfRegex(text, colon + 1);
    const entry = text.slice(position, end).trim();
    const kafkaTopic = text.slice(position, colon).trim();
    const regex = text.slice(colon + 1, end).trim();
    position = end + 1;

    const topicProblem = kafkaTopicProblem(kafkaTopic);
    if (topicProblem !== null) report(`the Kafka topic before ':' is not usable: ${topicProblem}`, entry);
    if (regex === '') {
      report("the regex after ':' is empty", entry);
      continue;
    }
    try {
      // Checked bare: wrapping first would hide mistakes such as `a)|(b`, valid once wrapped.
      new RegExp(regex);
    } catch (error) {
      report(`invalid regular expression: ${regexErrorReason(error)}`, entry);
      continue;
    }
    if (topicProblem === null) rules.push({ name, match: `^(?:${regex})$`, topic: kafkaTopic, key: '${topic}' });
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return rules;
}

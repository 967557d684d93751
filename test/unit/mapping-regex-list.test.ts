import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { compileRouter } from '../../src/mapping/router.js';
import { parseTopicRegexList } from '../../src/config/topic-regex-list.js';

const parse = (text: string) => parseTopicRegexList(text, 'topic-mappings.yaml');

function problems(text: string): string[] {
  try {
    parse(text);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.message.split('\n');
  }
  assert.fail(`expected ${JSON.stringify(text)} to be refused`);
}

/** The regexes of the parsed rules, unwrapped. */
function regexes(text: string): string[] {
  return parse(text).map((rule) => rule.match.replace(/^\^\(\?:/, '').replace(/\)\$$/, ''));
}

describe('topic.regex.list', () => {
  it('turns each pair into a whole-topic rule named by position, keyed by the MQTT topic', () => {
    assert.deepEqual(parse('temperature:.*temperature,brightness:.*brightness'), [
      { name: 'topic.regex.list[0]', match: '^(?:.*temperature)$', topic: 'temperature', key: '${topic}' },
      { name: 'topic.regex.list[1]', match: '^(?:.*brightness)$', topic: 'brightness', key: '${topic}' },
    ]);
  });
  it('has Java matches() semantics: the whole topic must match', () => {
    const router = compileRouter({ source: 'x', mappings: parse('t:car/.*/speed'), unmapped: { action: 'reject' } });
    assert.equal(router.route({ topic: 'car/1/speed', clientId: 'c', username: undefined }).kind, 'mapped');
    assert.equal(router.route({ topic: 'x/car/1/speed', clientId: 'c', username: undefined }).kind, 'rejected');
    assert.equal(router.route({ topic: 'car/1/speed/x', clientId: 'c', username: undefined }).kind, 'rejected');
    // The wrapping groups the alternation: a|b must not become ^a|b$.
    const alternation = compileRouter({ source: 'x', mappings: parse('t:a|b'), unmapped: { action: 'reject' } });
    assert.equal(alternation.route({ topic: 'ab', clientId: 'c', username: undefined }).kind, 'rejected');
    assert.equal(alternation.route({ topic: 'b', clientId: 'c', username: undefined }).kind, 'mapped');
  });
  it('splits each pair on its first colon: regexes may contain colons', () => {
    assert.deepEqual(regexes('t:a:b:c'), ['a:b:c']);
    assert.deepEqual(regexes('t:(?:x)'), ['(?:x)']);
  });
  it('trims whitespace around pairs, topics and regexes, including newlines of folded YAML', () => {
    const rules = parse('  temperature :  .*temperature  ,\n  brightness:.*brightness \n');
    assert.deepEqual(rules.map((r) => r.topic), ['temperature', 'brightness']);
    assert.deepEqual(rules.map((r) => r.match), ['^(?:.*temperature)$', '^(?:.*brightness)$']);
  });
  it('keeps commas inside {n,m}, [...], (...) and escaped \\, in the regex', () => {
    assert.deepEqual(regexes('a:\\d{1,3},b:x{2,},c:[,;],d:(x|y,z),e:x\\,y,f:[(],g:z'), [
      '\\d{1,3}',
      'x{2,}',
      '[,;]',
      '(x|y,z)',
      'x\\,y',
      '[(]',
      'z',
    ]);
    assert.deepEqual(regexes('a:[\\],],b:y'), ['[\\],]', 'y']);
  });
  it('treats a comma after braces that are not a quantifier as a separator', () => {
    assert.deepEqual(regexes('a:x{,b:y'), ['x{', 'y']);
  });
  it('refuses an empty list', () => {
    assert.deepEqual(problems('  '), ['topic-mappings.yaml: topic.regex.list: is empty: expected kafkaTopic:regex pairs separated by commas']);
  });
  it('refuses a pair without a colon, naming it', () => {
    assert.deepEqual(problems('a:x,oops'), ['topic-mappings.yaml: topic.regex.list[1] "oops": missing \':\' between the Kafka topic and the regex']);
  });
  it('refuses empty pairs (stray and trailing commas)', () => {
    assert.deepEqual(problems('a:x,,b:y,'), [
      'topic-mappings.yaml: topic.regex.list[1]: empty pair (a stray comma?)',
      'topic-mappings.yaml: topic.regex.list[3]: empty pair (a stray comma?)',
    ]);
  });
  it('refuses a Kafka topic Kafka would refuse, or an empty one', () => {
    assert.match(problems('my topic:x')[0] ?? '', /^topic-mappings\.yaml: topic\.regex\.list\[0\] "my topic:x": the Kafka topic before ':' is not usable: .*not U\+0020/);
    assert.match(problems(':x')[0] ?? '', /cannot be empty/);
  });
  it('refuses an empty regex', () => {
    assert.deepEqual(problems('a:  '), [`topic-mappings.yaml: topic.regex.list[0] "a:": the regex after ':' is empty`]);
  });
  it('refuses an invalid regex, checked before wrapping', () => {
    assert.deepEqual(problems('a:(x'), ['topic-mappings.yaml: topic.regex.list[0] "a:(x": invalid regular expression: Unterminated group']);
    // Valid once wrapped as ^(?:a)|(b)$, which would silently change its meaning.
    assert.match(problems('a:a)|(b')[0] ?? '', /invalid regular expression/);
  });
  it('reports every bad pair at once', () => {
    assert.equal(problems('a b:x,ok:y,c:a)|b,d').length, 3);
  });
});

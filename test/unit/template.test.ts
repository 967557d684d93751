import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTemplate, regexGroups, TemplateError, type RegexGroups } from '../../src/mapping/template.js';
import type { RouteInput } from '../../src/mapping/types.js';

const input: RouteInput = { topic: 'devices/d1/telemetry', clientId: 'client-7', username: 'alice', certCN: 'd1.example' };

/** Compiles `template` against `regexSource` and renders it for `topic`. */
function render(template: string, regexSource: string, topic: string, overrides: Partial<RouteInput> = {}): string {
  const regex = new RegExp(regexSource);
  const match = regex.exec(topic);
  assert.ok(match, `test setup: ${regexSource} must match ${topic}`);
  return compileTemplate(template, regexGroups(regex)).render(match, { ...input, topic, ...overrides });
}

function compileError(template: string, groups: RegexGroups): string {
  try {
    compileTemplate(template, groups);
  } catch (error) {
    assert.ok(error instanceof TemplateError, `expected TemplateError, got ${String(error)}`);
    return error.message;
  }
  assert.fail(`expected ${JSON.stringify(template)} not to compile`);
}

const NO_GROUPS: RegexGroups = { count: 0, names: [] };
const TWO_GROUPS: RegexGroups = { count: 2, names: ['deviceId'] };

describe('regexGroups', () => {
  it('counts numbered groups, named ones included, and lists names in order', () => {
    assert.deepEqual(regexGroups(/^a\/(?<deviceId>[^/]+)\/(x)(?<kind>y)?$/), { count: 3, names: ['deviceId', 'kind'] });
  });
  it('ignores non-capturing groups and lookarounds', () => {
    assert.deepEqual(regexGroups(/(?:a)(?=b)(?!c)(?<=d)(e)/), { count: 1, names: [] });
  });
  it('sees groups of a regex that can never match the empty string', () => {
    assert.deepEqual(regexGroups(/^x+(?<a>y)$/), { count: 1, names: ['a'] });
  });
});

describe('template rendering', () => {
  it('renders a literal-only template as itself and marks it static', () => {
    const template = compileTemplate('iot.telemetry', NO_GROUPS);
    assert.equal(template.staticValue, 'iot.telemetry');
    assert.equal(template.usesGroups, false);
    assert.equal(template.render(null, input), 'iot.telemetry');
  });
  it('renders the empty template as the empty string', () => {
    assert.equal(compileTemplate('', NO_GROUPS).render(null, input), '');
  });
  it('renders named groups', () => {
    assert.equal(render('${deviceId}', '^devices/(?<deviceId>[^/]+)/telemetry$', 'devices/d1/telemetry'), 'd1');
  });
  it('renders $1..$9 and ${N}', () => {
    const regex = '^(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)$';
    const topic = 'abcdefghijkl';
    assert.equal(render('$1$2$3$4$5$6$7$8$9', regex, topic), 'abcdefghi');
    assert.equal(render('${1}-${10}-${12}', regex, topic), 'a-j-l');
  });
  it('reads $12 as group 1 followed by the text "2", whatever the group count', () => {
    const regex = '^(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)$';
    assert.equal(render('$12', regex, 'abcdefghijkl'), 'a2');
    assert.equal(render('x$1y', '^(a)$', 'a'), 'xay');
  });
  it('renders numbered groups that are also named', () => {
    assert.equal(render('$1.${1}.${deviceId}', '^devices/(?<deviceId>[^/]+)/', 'devices/d1/x'), 'd1.d1.d1');
  });
  it('renders built-ins ${topic} ${clientId} ${username} ${certCN}', () => {
    assert.equal(render('${topic}|${clientId}|${username}|${certCN}', '^', 'a/b'), 'a/b|client-7|alice|d1.example');
  });
  it('renders a missing username and a missing certCN as empty strings', () => {
    const template = compileTemplate('[${username}][${certCN}]', NO_GROUPS);
    assert.equal(template.render(null, { topic: 't', clientId: 'c', username: undefined }), '[][]');
  });
  it('renders an unmatched optional group as an empty string, numbered or named', () => {
    const regex = '^a(?<opt>b)?(c)?$';
    assert.equal(render('[$1][${opt}][$2]', regex, 'a'), '[][][]');
    assert.equal(render('[$1][${opt}][$2]', regex, 'abc'), '[b][b][c]');
  });
  it('renders a group of the alternative that did not match as empty', () => {
    assert.equal(render('[${x}][${y}]', '^(?:(?<x>a)|(?<y>b))$', 'b'), '[][b]');
  });
  it('turns $$ into a literal $', () => {
    assert.equal(render('price$$$1$$', '^(\\d+)$', '42'), 'price$42$');
  });
  it('mixes literals and placeholders', () => {
    assert.equal(
      render('iot.${kind}.v1-${deviceId}', '^devices/(?<deviceId>[^/]+)/(?<kind>[^/]+)$', 'devices/d1/telemetry'),
      'iot.telemetry.v1-d1',
    );
  });
  it('accepts any group name the regex declares, including non-ASCII ones', () => {
    assert.equal(render('${gerät}', '^(?<gerät>.+)$', 'x'), 'x');
  });
  it('says whether the regex match is needed', () => {
    assert.equal(compileTemplate('${topic}-${clientId}', NO_GROUPS).usesGroups, false);
    assert.equal(compileTemplate('$1', TWO_GROUPS).usesGroups, true);
    assert.equal(compileTemplate('${deviceId}', TWO_GROUPS).usesGroups, true);
  });
  it('keeps the parts it compiled, adjacent literals merged, frozen', () => {
    const template = compileTemplate('a$$b${deviceId}c', TWO_GROUPS);
    assert.deepEqual(template.parts, [
      { kind: 'literal', text: 'a$b' },
      { kind: 'named', name: 'deviceId' },
      { kind: 'literal', text: 'c' },
    ]);
    assert.ok(Object.isFrozen(template.parts));
  });
});

describe('template compile errors', () => {
  it('names a missing named group and lists the ones the regex has', () => {
    assert.equal(compileError('${device}', TWO_GROUPS), 'template names group "device" but the regex has groups deviceId');
    assert.equal(
      compileError('${device}', { count: 2, names: ['a', 'b'] }),
      'template names group "device" but the regex has groups a, b',
    );
    assert.equal(compileError('${device}', NO_GROUPS), 'template names group "device" but the regex has no named groups');
  });
  it('refuses numbered groups beyond the group count, in both forms', () => {
    assert.equal(compileError('$3', TWO_GROUPS), 'template names group $3 but the regex has 2 groups');
    assert.equal(compileError('${3}', TWO_GROUPS), 'template names group ${3} but the regex has 2 groups');
    assert.equal(compileError('$2', { count: 1, names: [] }), 'template names group $2 but the regex has 1 group');
    assert.equal(compileError('$1', NO_GROUPS), 'template names group $1 but the regex has no capture groups');
  });
  it('refuses group 0 and points to ${topic}', () => {
    assert.match(compileError('$0', TWO_GROUPS), /\$0 \(group 0\) is not supported: use \$\{topic\}/);
    assert.match(compileError('${0}', TWO_GROUPS), /group 0/);
  });
  it('refuses an unterminated ${ and says where', () => {
    assert.equal(compileError('iot.${deviceId', TWO_GROUPS), 'unterminated "${" at character 5 of "iot.${deviceId"');
    assert.match(compileError('${', NO_GROUPS), /unterminated/);
  });
  it('refuses unknown ${...} syntax', () => {
    for (const template of ['${}', '${a b}', '${topic:-x}', '${1a}', '${a-b}', '${a${b}}']) {
      assert.match(compileError(template, TWO_GROUPS), /^unsupported placeholder /, template);
    }
  });
  it('refuses a $ that is not a placeholder, suggesting ${name} for a word', () => {
    assert.equal(compileError('$deviceId', TWO_GROUPS), '"$deviceId" is not a placeholder: write ${deviceId} (or $$ for a literal "$")');
    assert.equal(compileError('cost$', NO_GROUPS), 'lone "$" at character 5 of "cost$": write $$ for a literal "$"');
    assert.match(compileError('a$-b', NO_GROUPS), /lone "\$" at character 2/);
  });
});
